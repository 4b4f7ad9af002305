"""Tables of the ledger: plans, steps, actions, their revisions and decisions, people, audit.

The workspace's tables (db/workspace_models.py), what execution did (db/execution_models.py)
and what Baton learned (db/memory_models.py) live apart, so that a command reading the
ledger (`baton actions`) builds only the models it reads.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.fields import json_field


class Meta(SQLModel, table=True):
    """Key/value facts about the data directory (schema version, demo seed, switches)."""

    key: str = Field(primary_key=True)
    value: str


class User(SQLModel, table=True):
    """Someone who may log in; their role says what they may decide."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    role: str
    password_hash: str
    created_at: datetime


class Plan(SQLModel, table=True):
    """A brief turned into a goal and ordered steps."""

    id: str = Field(primary_key=True)
    brief: str
    goal: dict[str, Any] = json_field({})
    planner: str
    version: int = 1
    today: date
    created_by: str
    created_at: datetime
    thread_id: str | None = None
    notices: list[str] = json_field([])
    """What the marketer was told while planning (e.g. that the offline planner stood in)."""


class Step(SQLModel, table=True):
    """One step of a plan, handed to one specialist."""

    __table_args__ = (UniqueConstraint("plan_id", "position"),)

    id: str = Field(primary_key=True)
    plan_id: str = Field(foreign_key="plan.id", index=True)
    position: int
    key: str
    agent: str
    kind: str
    title: str
    depends_on: list[str] = json_field([])
    inputs: dict[str, Any] = json_field({})
    added_in: int = 1
    """The plan version that added this step."""
    superseded_in: int | None = None
    """The plan version that replaced or dropped this step; None while it is current."""


class Action(SQLModel, table=True):
    """A specialist's concrete proposal for a step, and where it is in its lifecycle."""

    __table_args__ = (Index("ix_action_status", "status"),)

    id: str = Field(primary_key=True)
    plan_id: str = Field(foreign_key="plan.id", index=True)
    step_id: str = Field(foreign_key="step.id", unique=True)
    agent: str
    tool: str
    title: str
    params: dict[str, Any] = json_field({})
    params_hash: str
    revision: int = 1
    status: str = "proposed"
    risk: str
    requires_approval: bool = True
    required_role: str = "marketer"
    rationale: str = ""
    evidence: dict[str, Any] = json_field({})
    alternatives: list[dict[str, Any]] = json_field([])
    policy_checks: list[dict[str, Any]] = json_field([])
    lessons_applied: list[dict[str, Any]] = json_field([])
    record: dict[str, Any] = json_field({})
    result: dict[str, Any] | None = json_field()
    error: str | None = None
    editable: list[str] | None = json_field()
    """The parameter paths its kind's Skill let a person edit when it was proposed, so a
    listing reads them without loading every specialist; None on rows older than 0008."""
    created_at: datetime
    updated_at: datetime


class ActionRevision(SQLModel, table=True):
    """Every revision of an action's parameters, as proposed or as edited."""

    __table_args__ = (UniqueConstraint("action_id", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    action_id: str = Field(foreign_key="action.id", index=True)
    revision: int
    params: dict[str, Any] = json_field({})
    params_hash: str
    evidence: dict[str, Any] = json_field({})
    policy_checks: list[dict[str, Any]] = json_field([])
    author: str
    created_at: datetime


class Decision(SQLModel, table=True):
    """A verdict on one revision of an action, by a person or by policy."""

    id: int | None = Field(default=None, primary_key=True)
    action_id: str = Field(foreign_key="action.id", index=True)
    revision: int
    verdict: str
    actor: str
    role: str
    reason: str = ""
    changes: dict[str, Any] = json_field({})
    policy_hash: str
    created_at: datetime


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained record of every state change and who caused it."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    actor: str
    kind: str
    entity: str
    entity_id: str
    data: dict[str, Any] = json_field({})
    prev_hash: str
    hash: str = Field(unique=True, sa_column_kwargs={"insert_sentinel": True})
    """Unique and set before the insert, so several events go in one INSERT in order."""


class LLMCall(SQLModel, table=True):
    """One model call: who made it for which plan, what it cost, how it ended."""

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str | None = Field(default=None, index=True)
    """No foreign key: a planning call that failed is still paid for."""
    action_id: str | None = None
    agent: str
    """"planner", "narrator" or a specialist's name."""
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False
    """True when the endpoint reported no usage and Baton estimated the tokens."""
    latency_ms: float = 0.0
    cost: float | None = None
    """USD from BATON_LLM_PRICES; None when the model has no price."""
    attempts: int = 1
    status: str = "ok"
    """ok, invalid (output failed validation), or error (no usable reply)."""
    error: str | None = None
    created_at: datetime


class PlanRevision(SQLModel, table=True):
    """A new version of a plan: why it changed and the step-by-step difference."""

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(foreign_key="plan.id", index=True)
    version: int
    reason: str
    diff: list[dict[str, Any]] = json_field([])
    """[{"change": "added" | "removed" | "changed", "key", "title", "detail"}]."""
    trigger_action_id: str | None = None
    created_at: datetime
