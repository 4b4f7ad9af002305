"""Notes search: research, competitor and brief notes by relevance (FTS5)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import Session

MAX_QUERY_TERMS = 32
MAX_LIMIT = 100
SNIPPET_TOKENS = 16

_TERM = re.compile(r"\w+")


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
    """Relevance, higher is better: minus SQLite's bm25 (title weighted 2, body 1)."""


def fts_query(query: str) -> str:
    """Free text as a safe FTS5 query: each word quoted, any word may match ("" if none).

    Quoting turns FTS syntax (AND, NEAR, *, :, ^, parentheses, quotes) into plain words,
    so user text can never raise a syntax error; bm25 ranks notes matching more words higher.
    """
    terms = list(dict.fromkeys(term.lower() for term in _TERM.findall(query)))
    return " OR ".join(f'"{term}"' for term in terms[:MAX_QUERY_TERMS])


def search_notes(session: Session, query: str, *, limit: int = 10) -> list[NoteHit]:
    """Notes matching any word of `query`, most relevant first (bm25, then newest id)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    match = fts_query(query)
    if not match:
        return []
    rows = (
        session.connection()
        .execute(
            text(
                "SELECT n.id, n.kind, n.title, n.source, n.created_at, "
                f"snippet(note_fts, -1, '**', '**', '…', {SNIPPET_TOKENS}) AS excerpt, "
                "bm25(note_fts, 2.0, 1.0) AS rank "
                "FROM note_fts JOIN note n ON n.id = note_fts.rowid "
                "WHERE note_fts MATCH :match ORDER BY rank, n.id DESC LIMIT :limit"
            ),
            {"match": match, "limit": limit},
        )
        .all()
    )
    return [
        NoteHit(
            id=row.id,
            kind=row.kind,
            title=row.title,
            excerpt=row.excerpt,
            source=row.source,
            created_at=parse_utc(row.created_at),
            score=round(-row.rank, 6),
        )
        for row in rows
    ]


def parse_utc(value: str | datetime) -> datetime:
    """A timestamp as SQLite hands it back (text, maybe naive) as an aware UTC datetime."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
