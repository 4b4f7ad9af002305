"""Typographic quotes in a brief, straightened so slot patterns need only the ASCII ones."""

from __future__ import annotations


def straighten_quotes(text: str) -> str:
    """Straighten typographic apostrophes so patterns only need the ASCII apostrophe."""
    return text.replace("\u2019", "'").replace("\u2018", "'")
