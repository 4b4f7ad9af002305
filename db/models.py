"""Tables: the marketing workspace (contacts, events, spend, brand) and the action ledger."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def _json(default: Any = None) -> Any:
    factory = (lambda: type(default)()) if default is not None else None
    if factory is None:
        return Field(default=None, sa_column=Column(JSON, nullable=True))
    return Field(default_factory=factory, sa_column=Column(JSON, nullable=False))


# --- Workspace -----------------------------------------------------------------------


class Contact(SQLModel, table=True):
    """One person the marketer may reach, with consent per channel."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True)
    first_name: str = ""
    last_name: str = ""
    phone: str | None = None
    country: str = ""
    region: str = ""
    timezone: str = "UTC"
    created_at: datetime
    email_consent: bool = False
    sms_consent: bool = False
    push_consent: bool = False
    unsubscribed: bool = False
    bounced: bool = False
    lifetime_value: float = 0.0
    orders: int = 0
    last_purchase_at: datetime | None = Field(default=None, index=True)
    attributes: dict[str, Any] = _json({})


class Event(SQLModel, table=True):
    """A send, open, click, purchase, unsubscribe or bounce."""

    __table_args__ = (
        Index("ix_event_kind_time", "event", "occurred_at"),
        Index("ix_event_contact_kind_time", "contact_id", "event", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id")
    channel: str
    event: str
    campaign: str = ""
    variant: str = ""
    occurred_at: datetime
    revenue: float = 0.0


class Spend(SQLModel, table=True):
    """Money spent on one channel and campaign on one day."""

    __table_args__ = (Index("ix_spend_date_channel", "date", "channel"),)

    id: int | None = Field(default=None, primary_key=True)
    date: date
    channel: str
    campaign: str = ""
    spend: float


class BrandProfile(SQLModel, table=True):
    """The brand's voice and the words it never uses (one row per workspace)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str
    voice: str
    sender_name: str
    tagline: str = ""
    banned_phrases: list[str] = _json([])
    required_disclaimers: list[str] = _json([])
    competitors: list[str] = _json([])


class ConsentChange(SQLModel, table=True):
    """One change of a contact's consent on one channel: when it happened and where it came from."""

    __table_args__ = (Index("ix_consent_contact_channel", "contact_id", "channel", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id")
    channel: str
    granted: bool
    at: datetime
    source: str
    """Where the change came from: "demo", "import:contacts.csv", "unsubscribe event"..."""


class Note(SQLModel, table=True):
    """Free text the research specialist can search: competitor notes, briefs, research."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = "research"
    """competitor, brief, research or other."""
    title: str
    body: str
    created_at: datetime
    source: str = ""


class Meta(SQLModel, table=True):
    """Key/value facts about the data directory (schema version, demo seed, switches)."""

    key: str = Field(primary_key=True)
    value: str


# --- People ----------------------------------------------------------------------------


class User(SQLModel, table=True):
    """Someone who may log in; their role says what they may decide."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    role: str
    password_hash: str
    created_at: datetime


# --- The ledger ------------------------------------------------------------------------


class Plan(SQLModel, table=True):
    """A brief turned into a goal and ordered steps."""

    id: str = Field(primary_key=True)
    brief: str
    goal: dict[str, Any] = _json({})
    planner: str
    version: int = 1
    today: date
    created_by: str
    created_at: datetime
    thread_id: str | None = None
    notices: list[str] = _json([])
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
    depends_on: list[str] = _json([])
    inputs: dict[str, Any] = _json({})
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
    params: dict[str, Any] = _json({})
    params_hash: str
    revision: int = 1
    status: str = "proposed"
    risk: str
    requires_approval: bool = True
    required_role: str = "marketer"
    rationale: str = ""
    evidence: dict[str, Any] = _json({})
    alternatives: list[dict[str, Any]] = _json([])
    policy_checks: list[dict[str, Any]] = _json([])
    lessons_applied: list[dict[str, Any]] = _json([])
    record: dict[str, Any] = _json({})
    result: dict[str, Any] | None = _json()
    error: str | None = None
    editable: list[str] | None = _json()
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
    params: dict[str, Any] = _json({})
    params_hash: str
    evidence: dict[str, Any] = _json({})
    policy_checks: list[dict[str, Any]] = _json([])
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
    changes: dict[str, Any] = _json({})
    policy_hash: str
    created_at: datetime


class Execution(SQLModel, table=True):
    """One execution of an approved revision; the key makes a second attempt a no-op."""

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True)
    action_id: str = Field(foreign_key="action.id", index=True)
    revision: int
    params_hash: str
    status: str
    result: dict[str, Any] | None = _json()
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
    payload: dict[str, Any] = _json({})
    status: str
    attempts: int = 0
    created_at: datetime


class SegmentMember(SQLModel, table=True):
    """A contact in the audience an executed segment action materialised."""

    action_id: str = Field(foreign_key="action.id", primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", primary_key=True)


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
    decision_ids: list[int] = _json([])
    """The decisions that taught it."""
    actor: str
    created_at: datetime
    superseded_by: int | None = None
    deleted_at: datetime | None = None
    rule: str = "set"
    """set, exclude, min, max, max_share or min_share (agents/lesson_rules.py)."""
    feedback_ids: list[int] = _json([])
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


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained record of every state change and who caused it."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    actor: str
    kind: str
    entity: str
    entity_id: str
    data: dict[str, Any] = _json({})
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
    diff: list[dict[str, Any]] = _json([])
    """[{"change": "added" | "removed" | "changed", "key", "title", "detail"}]."""
    trigger_action_id: str | None = None
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
