"""Untrusted text (a model's words, a data row) placed in chat markdown as plain text.

The chat renders markdown, where `![x](url)` makes the browser fetch `url` as soon as the
message shows: a model steered by a pasted email could leak what it saw that way. Escaping
the characters that open images, links and HTML keeps such text inert; it still reads the
same. Each character is escaped on its own, so streamed pieces can be escaped one by one.
"""

from __future__ import annotations

_ACTIVE = {c: "\\" + c for c in "\\`*_[]<>!|"}
_TABLE = str.maketrans(_ACTIVE)


def plain(text: str) -> str:
    """`text` escaped so that markdown shows it as written and makes nothing of it."""
    return text.translate(_TABLE)


_LINK_OR_HTML = str.maketrans("", "", "[]<>`")


def label(text: str) -> str:
    """A short untrusted string (a title, an objective) kept as a label: without the
    characters that open links, images, code and HTML, so it reads plainly anywhere."""
    return " ".join(text.translate(_LINK_OR_HTML).split())
