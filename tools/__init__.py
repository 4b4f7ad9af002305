"""Capabilities: deterministic marketing tools over workspace data, and outbound connectors."""
