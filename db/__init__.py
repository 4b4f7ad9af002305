"""Persistence: settings, the SQLite engine, tables and the audit chain."""
