"""Tables of what executing an approved action did: its executions and outbound messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from db.fields import json_field


class Execution(SQLModel, table=True):
    """One execution of an approved revision; the key makes a second attempt a no-op."""

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True)
    action_id: str = Field(foreign_key="action.id", index=True)
    revision: int
    params_hash: str
    status: str
    result: dict[str, Any] | None = json_field()
    error: str | None = None
    started_at: datetime
    finished_at: datetime | None = None


class Delivery(SQLModel, table=True):
    """One outbound message (outbox row); in shadow mode it never leaves the machine."""

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True)
    action_id: str = Field(foreign_key="action.id", index=True)
    contact_id: int
    channel: str
    connector: str
    payload: dict[str, Any] = json_field({})
    status: str
    attempts: int = 0
    created_at: datetime
