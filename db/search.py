"""Full-text search: the one place that speaks SQLite FTS5 (indexes, triggers, queries).

Notes and feedback comments are indexed by external-content FTS5 tables kept in step by
triggers, ranked with bm25 and excerpted with snippet(). A PostgreSQL port replaces this
module (tsvector columns, websearch/plainto_tsquery, ts_rank, ts_headline); callers see
only plain arguments in and plain rows out, with scores where higher is better.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import Connection

MAX_QUERY_TERMS = 32
SNIPPET_TOKENS = 16

_TERM = re.compile(r"\w+")

NOTE_FTS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS note_fts USING fts5("
    "title, body, content='note', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER IF NOT EXISTS note_ai AFTER INSERT ON note BEGIN "
    "INSERT INTO note_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER IF NOT EXISTS note_ad AFTER DELETE ON note BEGIN "
    "INSERT INTO note_fts(note_fts, rowid, title, body) VALUES "
    "('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER IF NOT EXISTS note_au AFTER UPDATE ON note BEGIN "
    "INSERT INTO note_fts(note_fts, rowid, title, body) VALUES "
    "('delete', old.id, old.title, old.body); "
    "INSERT INTO note_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
)
"""External-content FTS5 index over `note`, kept in step by triggers."""

FEEDBACK_FTS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS feedback_fts USING fts5("
    "comment, content='feedback', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER IF NOT EXISTS feedback_ai AFTER INSERT ON feedback BEGIN "
    "INSERT INTO feedback_fts(rowid, comment) VALUES (new.id, new.comment); END",
    "CREATE TRIGGER IF NOT EXISTS feedback_ad AFTER DELETE ON feedback BEGIN "
    "INSERT INTO feedback_fts(feedback_fts, rowid, comment) VALUES "
    "('delete', old.id, old.comment); END",
    "CREATE TRIGGER IF NOT EXISTS feedback_au AFTER UPDATE OF comment ON feedback BEGIN "
    "INSERT INTO feedback_fts(feedback_fts, rowid, comment) VALUES "
    "('delete', old.id, old.comment); "
    "INSERT INTO feedback_fts(rowid, comment) VALUES (new.id, new.comment); END",
    # Feedback written before this migration.
    "INSERT INTO feedback_fts(feedback_fts) VALUES ('rebuild')",
)
"""External-content FTS5 index over `feedback.comment`, kept in step by triggers."""


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
    """Relevance, higher is better: minus bm25 (title weighted 2, body 1)."""


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
    """Relevance, higher is better: minus bm25 (FTS5's default rank)."""


def fts_query(query: str) -> str:
    """Free text as a safe FTS5 query: each word quoted, any word may match ("" if none).

    Quoting turns FTS syntax (AND, NEAR, *, :, ^, parentheses, quotes) into plain words,
    so user text can never raise a syntax error; bm25 ranks rows matching more words higher.
    """
    terms = list(dict.fromkeys(term.lower() for term in _TERM.findall(query)))
    return " OR ".join(f'"{term}"' for term in terms[:MAX_QUERY_TERMS])


def match_notes(connection: Connection, query: str, *, limit: int) -> list[NoteHit]:
    """Notes matching any word of `query`, most relevant first (bm25, then newest id)."""
    match = fts_query(query)
    if not match:
        return []
    rows = connection.execute(
        text(
            "SELECT n.id, n.kind, n.title, n.source, n.created_at, "
            f"snippet(note_fts, -1, '**', '**', '…', {SNIPPET_TOKENS}) AS excerpt, "
            "bm25(note_fts, 2.0, 1.0) AS rank "
            "FROM note_fts JOIN note n ON n.id = note_fts.rowid "
            "WHERE note_fts MATCH :match ORDER BY rank, n.id DESC LIMIT :limit"
        ),
        {"match": match, "limit": limit},
    ).all()
    return [
        NoteHit(
            id=row.id,
            kind=row.kind,
            title=row.title,
            excerpt=row.excerpt,
            source=row.source,
            created_at=_utc(row.created_at),
            score=round(-row.rank, 6),
        )
        for row in rows
    ]


def match_feedback(
    connection: Connection, query: str, *, limit: int, window: int
) -> list[FeedbackHit]:
    """Feedback whose comment matches any word of `query`, most relevant first.

    Relevance is computed over the newest `window` matches only, so a common word costs
    the same in a long history as in a short one; rarer words reach back through all of it.
    """
    match = fts_query(query)
    if not match:
        return []
    rows = connection.execute(
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
        {"match": match, "limit": limit, "window": window},
    ).all()
    return [
        FeedbackHit(
            id=row.id,
            actor=row.actor,
            value=row.value,
            comment=row.comment,
            excerpt=row.excerpt,
            action_id=row.action_id,
            message_id=row.message_id,
            created_at=_utc(row.created_at),
            score=round(-row.rank, 6),
        )
        for row in rows
    ]


def _utc(value: str | datetime) -> datetime:
    """A timestamp as SQLite hands it back from raw SQL (text, maybe naive), aware in UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
