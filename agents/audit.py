"""The audit log as people use it: export it for others, verify nobody rewrote it."""

from __future__ import annotations

import csv
import json
from typing import Literal, TextIO

from pydantic import BaseModel
from sqlalchemy.engine import Engine

from db.audit import check_chain, iter_audit
from db.engine import read_session
from db.models import AuditEvent

AuditFormat = Literal["jsonl", "csv"]
COLUMNS = ("id", "at", "actor", "kind", "entity", "entity_id", "data", "prev_hash", "hash")


class AuditVerdict(BaseModel):
    """The chain checked end to end: how many events, and the first that does not verify."""

    events: int
    broken_at: int | None
    detail: str


def _row(event: AuditEvent) -> dict[str, object]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "kind": event.kind,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "data": event.data,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def export_audit(engine: Engine, stream: TextIO, *, fmt: AuditFormat) -> int:
    """Write every audit event, oldest first, as JSON lines or CSV; return how many."""
    count = 0
    with read_session(engine) as session:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS) if fmt == "csv" else None
        if writer:
            writer.writeheader()
        for event in iter_audit(session):
            row = _row(event)
            if writer:
                writer.writerow({**row, "data": json.dumps(row["data"], sort_keys=True)})
            else:
                stream.write(json.dumps(row, sort_keys=True) + "\n")
            count += 1
    return count


def verify_audit(engine: Engine) -> AuditVerdict:
    """Recompute every hash; name the first event whose contents or link do not match."""
    with read_session(engine) as session:
        events, broken = check_chain(session)
        if broken is None:
            return AuditVerdict(
                events=events,
                broken_at=None,
                detail=f"The audit chain verifies: {events:,} events.",
            )
        event = session.get(AuditEvent, broken)
        assert event is not None
        return AuditVerdict(
            events=events,
            broken_at=broken,
            detail=f"The audit chain is broken at event {broken} ({event.kind} by {event.actor} "
            f"at {event.at.isoformat(timespec='seconds')}): its hash does not match its contents "
            f"or the event before it. Every later event is unverified.",
        )
