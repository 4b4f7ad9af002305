"""The structured brief (Goal) and the plan a planner drafts from it."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from db.vocabulary import Channel

PlaybookName = Literal[
    "winback",
    "launch",
    "promotion",
    "newsletter",
    "event_followup",
    "lead_nurture",
    "budget_review",
    "performance_report",
    "ab_test",
    "audience_build",
    "content_review",
]
PLAYBOOKS: tuple[str, ...] = PlaybookName.__args__  # type: ignore[attr-defined]

"""Channels Baton sends through itself, to contacts with consent."""

AgentName = Literal[
    "research",
    "performance",
    "audience",
    "creative",
    "channel",
    "experiment",
    "compliance",
    "distribution",
]
AGENTS: tuple[str, ...] = AgentName.__args__  # type: ignore[attr-defined]


class Goal(BaseModel):
    """What the marketer asked for, as fields a planner and tools can use."""

    objective: str
    """One sentence: what success looks like, in the marketer's terms."""
    playbook: PlaybookName
    kpi: str | None = None
    budget: float | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    """ISO 4217 code, set whenever budget is."""
    channels: list[Channel] = Field(default_factory=list)
    audience: str | None = None
    """The audience as the marketer described it ("lapsed 90 days")."""
    start: date | None = None
    end: date | None = None
    recency_days: int | None = Field(default=None, ge=1)
    """Days since last purchase that define a lapsed customer, when the brief says so."""


class StepDraft(BaseModel):
    """One step a planner wants: which specialist, which kind of work, after which steps."""

    key: str
    """Short name unique within the plan ("segment", "copy"); depends_on refers to it."""
    agent: AgentName
    kind: str
    """The specialist's tool for this step, e.g. "build_segment"."""
    title: str
    depends_on: list[str] = Field(default_factory=list)
    inputs: dict[str, Any] = Field(default_factory=dict)
    """Hints for the specialist (e.g. {"variants": 2}); never final parameters."""


class PlanDraft(BaseModel):
    """A planner's output: the goal and the ordered steps."""

    goal: Goal
    steps: list[StepDraft]
    planner: Literal["offline", "llm"]
