"""Writing a transaction's new ledger rows in one INSERT per table, past the unit of work.

A decision adds a handful of rows that nothing in its transaction reads back by identity:
the decision, the audit events, the execution, the next actions and their revisions.
SQLAlchemy's unit of work would write them one mapper at a time with its per-object
bookkeeping and read each generated id back; here they go as one executemany per table,
in foreign-key order, audit events in chain order. The objects keep their values (their
generated ids stay unset) and leave the session; anything else pending is flushed as usual.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, SQLModel

from db.execution_models import Execution
from db.models import Action, ActionRevision, AuditEvent, Decision

APPEND_ORDER: tuple[type[SQLModel], ...] = (Action, ActionRevision, Decision, Execution, AuditEvent)
"""Parents before the rows that point at them."""


def write_new_rows(session: Session) -> None:
    """Write every new row of the session; ledger rows in one INSERT per table.

    Falls back to a plain flush when the session holds new rows of any other table.
    """
    new = list(session.new)
    if not new or any(type(row) not in APPEND_ORDER for row in new):
        session.flush()
        return
    for row in new:
        session.expunge(row)
    session.flush()  # what was changed rather than added (an updated plan, say)
    for model in APPEND_ORDER:
        rows: list[Any] = [row for row in new if type(row) is model]
        if model is AuditEvent:
            rows = _chain_order(rows)
        if rows:
            session.bulk_save_objects(rows, preserve_order=True)


def _chain_order(events: list[AuditEvent]) -> list[AuditEvent]:
    """The events in the order they chain (each one's prev_hash is the last one's hash)."""
    by_prev = {e.prev_hash: e for e in events}
    hashes = {e.hash for e in events}
    first = next(e for e in events if e.prev_hash not in hashes)
    ordered = [first]
    while (following := by_prev.get(ordered[-1].hash)) is not None:
        ordered.append(following)
    assert len(ordered) == len(events), "audit events added in one transaction form one chain"
    return ordered
