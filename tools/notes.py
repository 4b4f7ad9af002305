"""Notes search: research, competitor and brief notes by relevance."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session

from db.search import match_notes

MAX_LIMIT = 100


class NoteHit(BaseModel):
    """One note matching a search, best first."""

    id: int
    kind: str
    title: str
    excerpt: str
    """The best-matching passage, matched terms wrapped in ** (markdown bold)."""
    source: str
    created_at: datetime
    score: float
    """Relevance, higher is better (db/search.py: minus bm25, title weighted 2, body 1)."""


def search_notes(session: Session, query: str, *, limit: int = 10) -> list[NoteHit]:
    """Notes matching any word of `query`, most relevant first (then newest first).

    Each word is quoted before it reaches the index, so no user text can raise a syntax error.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    return [
        NoteHit(
            id=match.id,
            kind=match.kind,
            title=match.title,
            excerpt=match.excerpt,
            source=match.source,
            created_at=match.created_at,
            score=round(match.score, 6),
        )
        for match in match_notes(session.connection(), query, limit=limit)
    ]
