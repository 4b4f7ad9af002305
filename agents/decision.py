"""A decision on an action, as the service takes it from a client and reports what it led to."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from agents.memory.autonomy import AutonomySuggestion
from agents.views import ActionView, RevisionView

Verdict = Literal["approve", "edit", "reject"]


class DecisionRequest(BaseModel):
    """All the server accepts from a client: actor X chose verdict V for action A revision R."""

    action_id: str = Field(min_length=1, max_length=64)
    revision: int = Field(ge=1)
    verdict: Verdict
    changes: dict[str, Any] = Field(default_factory=dict)
    reason: str = Field("", max_length=2000)


class DecisionOutcome(BaseModel):
    """What deciding led to: the action as it now stands and what followed from it."""

    action: ActionView
    """The decided action as it now stands (executed, if the decision let it run)."""
    new_actions: list[ActionView]
    """Actions proposed (or run by policy) because this one finished."""
    lesson: str | None = None
    """What this decision taught, if anything ("no sends on Sunday")."""
    autonomy_note: str | None = None
    """Set when a rejection put this kind of action back to asking first."""
    autonomy_suggestion: AutonomySuggestion | None = None
    """Baton's offer to let this kind run by itself; only `raise_autonomy` accepts it."""
    revisions: list[RevisionView] = Field(default_factory=list)
    """Plan versions this decision's result led to (the orchestrator re-planned)."""
    questions: list[str] = Field(default_factory=list)
    """What the orchestrator needs the marketer to settle before the plan can go on."""
