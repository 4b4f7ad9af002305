"""Memory that stays trustworthy and fast as history grows (migration 0006_memory_search).

- A decided action's decision record can no longer change, and revision and decision
  rows are append-only: SQLite triggers refuse the write, whoever attempts it.
- Feedback comments are searchable with an external-content FTS5 index kept in step
  by triggers.
- Indexes serve the memory reads: lessons for a proposal, the latest actions for "why".
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from db.dialect import run_sqlite_ddl
from db.search import FEEDBACK_FTS

IMMUTABLE_MESSAGE = "decision record is immutable"
RECORD_COLUMNS = (
    "params",
    "params_hash",
    "rationale",
    "evidence",
    "alternatives",
    "policy_checks",
    "lessons_applied",
    "record",
    "revision",
)
"""What an action was proposed with and why: fixed once it leaves "proposed"."""

_changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in RECORD_COLUMNS)

IMMUTABILITY = (
    "CREATE TRIGGER IF NOT EXISTS action_record_immutable BEFORE UPDATE ON action "
    f"WHEN OLD.status != 'proposed' AND ({_changed}) "
    f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE_MESSAGE}'); END",
    # Without this, a decided action could be set back to proposed and then rewritten.
    "CREATE TRIGGER IF NOT EXISTS action_not_reopened BEFORE UPDATE OF status ON action "
    "WHEN OLD.status != 'proposed' AND NEW.status = 'proposed' "
    f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE_MESSAGE}: a decided action stays decided'); END",
    "CREATE TRIGGER IF NOT EXISTS action_decided_kept BEFORE DELETE ON action "
    "WHEN OLD.status != 'proposed' "
    f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE_MESSAGE}'); END",
    *(
        f"CREATE TRIGGER IF NOT EXISTS {table}_append_only_{verb.lower()} "
        f"BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only'); END"
        for table in ("actionrevision", "decision")
        for verb in ("UPDATE", "DELETE")
    ),
)
"""Triggers that keep the decision record and the decision history as they were written."""

RETRIEVAL_INDEXES = (
    # lessons_for: tool = ? AND playbook = ? AND deleted_at IS NULL AND superseded_by IS NULL
    "CREATE INDEX IF NOT EXISTS ix_lesson_scope_active "
    "ON lesson (tool, playbook, deleted_at, superseded_by)",
    # "why?" without an id looks at the latest actions.
    "CREATE INDEX IF NOT EXISTS ix_action_created_at ON action (created_at)",
    "CREATE INDEX IF NOT EXISTS ix_feedback_action_id ON feedback (action_id)",
)


def apply_memory_search(engine: Engine) -> None:
    """Immutability triggers, the feedback full-text index and the retrieval indexes."""
    with engine.begin() as conn:
        run_sqlite_ddl(conn, (*IMMUTABILITY, *FEEDBACK_FTS))
        for statement in RETRIEVAL_INDEXES:
            conn.exec_driver_sql(statement)
