"""Writing a transaction's new ledger rows in one INSERT per table, past the unit of work.

A decision adds a handful of rows that nothing in its transaction reads back by identity:
the decision, the audit events, the execution, the next actions and their revisions.
SQLAlchemy's unit of work would write them one mapper at a time with its per-object
bookkeeping and read each generated id back; here they go as one Core executemany per
table (each object's column values as they stand), in foreign-key order, audit events in
chain order. The objects keep their values (their generated ids stay unset) and leave the
session; anything else pending is flushed as usual.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, Table
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
    connection = session.connection()
    for model in APPEND_ORDER:
        rows: list[Any] = [row for row in new if type(row) is model]
        if model is AuditEvent:
            rows = _chain_order(rows)
        if rows:
            insert, columns, key = _insert(model)
            values = [{c: row.__dict__[c] for c in columns} for row in rows]
            if key is not None and any(row.__dict__.get(key) is not None for row in rows):
                raise ValueError(f"new {model.__name__} rows carry their generated {key}")
            connection.execute(insert, values)


_INSERTS: dict[type[SQLModel], tuple[Insert, tuple[str, ...], str | None]] = {}


def _insert(model: type[SQLModel]) -> tuple[Insert, tuple[str, ...], str | None]:
    """The table's INSERT of every column but a generated integer key, those columns, and
    that key's name (None when the key is not generated)."""
    found = _INSERTS.get(model)
    if found is None:
        table: Table = model.__table__  # type: ignore[attr-defined]
        generated = table.autoincrement_column
        key = generated.key if generated is not None else None
        columns = tuple(c.key for c in table.columns if c.key != key)
        found = _INSERTS[model] = (table.insert(), columns, key)
    return found


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
