"""Tables of what Baton learned from people: lessons, feedback and earned autonomy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from db.fields import json_field


class Lesson(SQLModel, table=True):
    """A preference learned from a decision: which tool's parameter should take which value."""

    __table_args__ = (Index("ix_lesson_tool_active", "tool", "deleted_at", "superseded_by"),)

    id: int | None = Field(default=None, primary_key=True)
    agent: str
    tool: str
    param: str
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    statement: str
    """One sentence a marketer reads on the card ("send at 09:00 local time")."""
    playbook: str | None = None
    """The kind of plan it was learned in; it applies to plans of that kind."""
    decision_ids: list[int] = json_field([])
    """The decisions that taught it."""
    actor: str
    created_at: datetime
    superseded_by: int | None = None
    deleted_at: datetime | None = None
    rule: str = "set"
    """set, exclude, min, max, max_share or min_share (agents/lesson_rules.py)."""
    feedback_ids: list[int] = json_field([])
    """The thumbs-down comments that taught it."""


class Feedback(SQLModel, table=True):
    """A thumbs up/down and comment on a chat message or an action."""

    id: int | None = Field(default=None, primary_key=True)
    actor: str
    value: int
    comment: str = ""
    message_id: str | None = Field(default=None, index=True)
    thread_id: str | None = None
    action_id: str | None = None
    created_at: datetime


class AutonomyGrant(SQLModel, table=True):
    """A per-kind autonomy level a person confirmed after Baton suggested it (earned autonomy).

    Active while `revoked_at` is empty; a rejection of that kind revokes it. Rows are kept.
    """

    __table_args__ = (Index("ix_autonomygrant_kind_active", "kind", "revoked_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    level: int
    policy_level: int
    """What policy.toml said for this kind when it was granted."""
    streak: int
    """Unchanged approvals in a row that earned it."""
    granted_by: str
    granted_at: datetime
    policy_hash: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoked_reason: str = ""
    revoked_by_decision_id: int | None = None
    """The rejection that lowered it again, if a rejection did."""
