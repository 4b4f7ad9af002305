"""Notes search: research, competitor and brief notes by relevance."""

from __future__ import annotations

from sqlmodel import Session

from db.search import NoteHit, match_notes

__all__ = ["MAX_LIMIT", "NoteHit", "search_notes"]

MAX_LIMIT = 100


def search_notes(session: Session, query: str, *, limit: int = 10) -> list[NoteHit]:
    """Notes matching any word of `query`, most relevant first (then newest first).

    Each word is quoted before it reaches the index, so no user text can raise a syntax error.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    return match_notes(session.connection(), query, limit=limit)
