"""A decision on an action, as the service takes it from a client and reports what it led to."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from agents.approval import Decided
from agents.memory import autonomy, lessons
from agents.memory.autonomy import AutonomySuggestion
from agents.policy import Policy
from agents.views import (
    ActionView,
    RevisionView,
    action_view,
    load_action_views,
    revision_view,
)
from db.models import Action, Plan, PlanRevision

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


def carried_outcome(decided: Decided, policy: Policy) -> DecisionOutcome | None:
    """What an unchanged approval led to, from what its transaction held (None if it held
    nothing): it taught nothing and lowered nothing."""
    carried = decided.carried
    if carried is None:
        return None
    views = [action_view(a, carried.decisions[a.id], policy) for a in carried.actions]
    return DecisionOutcome(
        action=views[0],
        new_actions=views[1:],
        revisions=[revision_view(r) for r in carried.revisions],
        questions=[n for n in carried.notices if n not in decided.notices],
        autonomy_suggestion=carried.suggestion,
    )


def outcome_of(
    session: Session, decided: Decided, request: DecisionRequest, policy: Policy
) -> DecisionOutcome:
    """What a decision led to, read once after it: the actions, re-plans, questions, lessons."""
    who = decided.actor
    ids = [decided.action_id, *decided.created]
    rows = {a.id: a for a in session.exec(select(Action).where(col(Action.id).in_(ids)))}
    views = load_action_views(session, [rows[i] for i in ids], policy)
    plan = session.get(Plan, decided.plan_id)
    assert plan is not None
    revisions = session.exec(
        select(PlanRevision)
        .where(PlanRevision.plan_id == plan.id, col(PlanRevision.version) > decided.plan_version)
        .order_by(col(PlanRevision.version))
    )
    unchanged_approval = request.verdict == "approve" and not request.changes
    taught = (
        []  # an unchanged approval teaches nothing
        if unchanged_approval
        else lessons.taught_by(session, action_id=request.action_id, from_revision=request.revision)
    )
    note, offer = autonomy.after_decision(
        session,
        policy,
        action_id=request.action_id,
        tool=views[0].tool,
        unchanged_approval=unchanged_approval,
        role=who.role,
    )
    return DecisionOutcome(
        action=views[0],
        new_actions=views[1:],
        revisions=[revision_view(r) for r in revisions],
        questions=[n for n in plan.notices if n not in decided.notices],
        lesson="; ".join(lessons.rule_text(x) for x in taught) or None,
        autonomy_note=note,
        autonomy_suggestion=offer,
    )
