"""Feedback: search the marketers' thumbs-up/down comments by relevance (SQLite FTS5)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import Session

from tools.notes import MAX_LIMIT, SNIPPET_TOKENS, fts_query, parse_utc

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
    """Relevance, higher is better: minus SQLite's bm25 (FTS5's default rank)."""


def search_feedback(session: Session, query: str, *, limit: int = 10) -> list[FeedbackHit]:
    """Feedback whose comment matches any word of `query`, most relevant first.

    Each word is quoted before it reaches FTS5, so no user text can raise a syntax error.
    Relevance (bm25) is computed over the newest RANK_WINDOW matches only, so a common
    word costs the same in a long history as in a short one; rarer words reach back
    through all of it.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    match = fts_query(query)
    if not match:
        return []
    rows = (
        session.connection()
        .execute(
            text(
                "WITH recent AS (SELECT rowid FROM feedback_fts WHERE feedback_fts MATCH :match "
                "ORDER BY rowid DESC LIMIT :window) "
                "SELECT f.id, f.actor, f.value, f.comment, f.action_id, f.message_id, "
                "f.created_at, feedback_fts.rank AS rank, "
                f"snippet(feedback_fts, 0, '**', '**', '…', {SNIPPET_TOKENS}) AS excerpt "
                "FROM feedback_fts JOIN feedback f ON f.id = feedback_fts.rowid "
                "WHERE feedback_fts MATCH :match "
                "AND feedback_fts.rowid >= (SELECT min(rowid) FROM recent) "
                "ORDER BY feedback_fts.rank LIMIT :limit"
            ),
            {"match": match, "limit": limit, "window": RANK_WINDOW},
        )
        .all()
    )
    return [
        FeedbackHit(
            id=row.id,
            actor=row.actor,
            value=row.value,
            comment=row.comment,
            excerpt=row.excerpt,
            action_id=row.action_id,
            message_id=row.message_id,
            created_at=parse_utc(row.created_at),
            score=round(-row.rank, 6),
        )
        for row in rows
    ]
