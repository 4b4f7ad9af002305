"""Feedback: search the marketers' thumbs-up/down comments by relevance."""

from __future__ import annotations

from sqlmodel import Session

from db.search import FeedbackHit, match_feedback
from tools.notes import MAX_LIMIT

__all__ = ["RANK_WINDOW", "FeedbackHit", "search_feedback"]

RANK_WINDOW = 2000
"""How many of the newest matching comments are ranked by relevance."""


def search_feedback(session: Session, query: str, *, limit: int = 10) -> list[FeedbackHit]:
    """Feedback whose comment matches any word of `query`, most relevant first.

    Each word is quoted before it reaches the index, so no user text can raise a syntax error.
    Relevance is computed over the newest RANK_WINDOW matches only, so a common word
    costs the same in a long history as in a short one; rarer words reach back through
    all of it.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    return match_feedback(session.connection(), query, limit=limit, window=RANK_WINDOW)
