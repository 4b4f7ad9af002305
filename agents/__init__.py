"""Decisions: planners, specialists, the policy gate, the action lifecycle and the service API."""
