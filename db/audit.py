"""The hash-chained audit log: each event commits to the one before it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlmodel import Session, col, select

from db.models import AuditEvent
from db.rows import new_row

GENESIS_HASH = "0" * 64


def _digest(
    prev_hash: str,
    at: datetime,
    actor: str,
    kind: str,
    entity: str,
    entity_id: str,
    data: dict[str, Any],
) -> str:
    body = json.dumps(
        [prev_hash, at.astimezone(UTC).isoformat(), actor, kind, entity, entity_id, data],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def append_audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    kind: str,
    entity: str,
    entity_id: str,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the caller's transaction, chained to the latest one.

    Call it inside a write session (BEGIN IMMEDIATE) so no other writer can chain
    to the same predecessor. The event is written with the transaction's next flush, in
    one INSERT with the others added before it (the unique hash is the insert sentinel
    that keeps their ids in chain order).
    """
    payload = json.loads(json.dumps(data or {}, default=str))
    prev = session.info.get(_HEAD)
    if prev is None:
        last = session.exec(
            select(AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)
        ).first()
        prev = last or GENESIS_HASH
    event = new_row(
        AuditEvent,
        at=at,
        actor=actor,
        kind=kind,
        entity=entity,
        entity_id=entity_id,
        data=payload,
        prev_hash=prev,
        hash=_digest(prev, at, actor, kind, entity, entity_id, payload),
    )
    session.add(event)
    session.info[_HEAD] = event.hash
    return event


def carry_head(session: Session, head: str | None) -> None:
    """The chain's latest hash as this write transaction just read it (None: no events yet).

    Only for a value read under the write lock: the next append chains to it unread.
    """
    session.info[_HEAD] = head or GENESIS_HASH


_HEAD = "audit_head"
"""Session.info key: the hash of the last event this transaction appended, so the next
append chains to it without reading it back (the write lock keeps it the latest)."""


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_head(session: Session, previous_transaction: object) -> None:
    # A rolled-back transaction or savepoint may have dropped the remembered event.
    session.info.pop(_HEAD, None)


@sa_event.listens_for(Session, "after_commit")
def _forget_head_after_commit(session: Session) -> None:
    # Another writer may append before this session's next transaction.
    session.info.pop(_HEAD, None)


def iter_audit(session: Session, *, batch: int = 5_000) -> Iterator[AuditEvent]:
    """Every audit event in chain order, streamed in batches (the log can be large)."""
    last_id = 0
    while True:
        rows = list(
            session.exec(
                select(AuditEvent)
                .where(col(AuditEvent.id) > last_id)
                .order_by(col(AuditEvent.id))
                .limit(batch)
            )
        )
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id or last_id
        session.expunge_all()


def check_chain(session: Session) -> tuple[int, int | None]:
    """One pass over the chain: how many events, and the id of the first that does not verify."""
    prev = GENESIS_HASH
    count = 0
    broken: int | None = None
    for event in iter_audit(session):
        count += 1
        if broken is not None:
            continue
        expected = _digest(
            prev, event.at, event.actor, event.kind, event.entity, event.entity_id, event.data
        )
        if event.prev_hash != prev or event.hash != expected:
            broken = event.id
        prev = event.hash
    return count, broken


def first_broken_link(session: Session) -> int | None:
    """Recompute the chain; return the id of the first event that does not verify."""
    return check_chain(session)[1]
