"""Feedback: search the marketers' thumbs-up/down comments by relevance."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session

from db.search import match_feedback
from tools.notes import MAX_LIMIT

RANK_WINDOW = 2000
"""How many of the newest matching comments are ranked by relevance."""


class FeedbackHit(BaseModel):
    """One feedback row whose comment matches a search, best first."""

    id: int
    actor: str
    value: int
    """+1 (thumbs up) or -1 (thumbs down)."""
    comment: str
    excerpt: str
    """The best-matching passage, matched terms wrapped in ** (markdown bold)."""
    action_id: str | None
    message_id: str | None
    created_at: datetime
    score: float
    """Relevance, higher is better (db/search.py: minus bm25)."""


def search_feedback(session: Session, query: str, *, limit: int = 10) -> list[FeedbackHit]:
    """Feedback whose comment matches any word of `query`, most relevant first.

    Each word is quoted before it reaches the index, so no user text can raise a syntax error.
    Relevance is computed over the newest RANK_WINDOW matches only, so a common word
    costs the same in a long history as in a short one; rarer words reach back through
    all of it.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    matches = match_feedback(session.connection(), query, limit=limit, window=RANK_WINDOW)
    return [
        FeedbackHit(
            id=match.id,
            actor=match.actor,
            value=match.value,
            comment=match.comment,
            excerpt=match.excerpt,
            action_id=match.action_id,
            message_id=match.message_id,
            created_at=match.created_at,
            score=round(match.score, 6),
        )
        for match in matches
    ]
