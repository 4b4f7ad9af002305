"""The public shapes of plans and actions: the CLI's JSON contract and what the chat renders."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from agents.specialists import skill_for
from db.models import Action, Decision, Plan, Step


class CheckView(BaseModel):
    rule: str
    passed: bool
    detail: str


class DecisionView(BaseModel):
    revision: int
    verdict: str
    actor: str
    role: str
    reason: str = ""
    changes: dict[str, Any] = Field(default_factory=dict)
    at: str


class ActionView(BaseModel):
    """One action as scripts see it (DESIGN 10); fields are only ever added."""

    action_id: str
    plan_id: str
    step_id: str
    agent: str
    title: str
    tool: str
    params: dict[str, Any]
    revision: int
    status: str
    requires_approval: bool
    required_role: str
    risk: str
    rationale: str
    evidence: dict[str, Any]
    alternatives: list[dict[str, Any]]
    policy_checks: list[CheckView]
    lessons_applied: list[dict[str, Any]]
    result: dict[str, Any] | None
    error: str | None
    editable: list[str]
    decisions: list[DecisionView]
    updated_at: str


class StepView(BaseModel):
    step_id: str
    agent: str
    title: str
    depends_on: list[str]
    action: ActionView | None


class PlanView(BaseModel):
    plan_id: str
    version: int
    planner: str
    brief: str
    today: str
    goal: dict[str, Any]
    steps: list[StepView]


def action_view(action: Action, decisions: list[Decision]) -> ActionView:
    return ActionView(
        action_id=action.id,
        plan_id=action.plan_id,
        step_id=action.step_id,
        agent=action.agent,
        title=action.title,
        tool=action.tool,
        params=action.params,
        revision=action.revision,
        status=action.status,
        requires_approval=action.requires_approval,
        required_role=action.required_role,
        risk=action.risk,
        rationale=action.rationale,
        evidence=action.evidence,
        alternatives=action.alternatives,
        policy_checks=[CheckView.model_validate(c) for c in action.policy_checks],
        lessons_applied=action.lessons_applied,
        result=action.result,
        error=action.error,
        editable=list(skill_for(action.tool).editable),
        decisions=[
            DecisionView(
                revision=d.revision,
                verdict=d.verdict,
                actor=d.actor,
                role=d.role,
                reason=d.reason,
                changes=d.changes,
                at=d.created_at.isoformat(),
            )
            for d in decisions
        ],
        updated_at=action.updated_at.isoformat(),
    )


def load_action_views(session: Session, actions: list[Action]) -> list[ActionView]:
    ids = [a.id for a in actions]
    decisions: dict[str, list[Decision]] = {i: [] for i in ids}
    if ids:
        for d in session.exec(
            select(Decision).where(col(Decision.action_id).in_(ids)).order_by(col(Decision.id))
        ):
            decisions[d.action_id].append(d)
    return [action_view(a, decisions[a.id]) for a in actions]


def plan_view(session: Session, plan: Plan) -> PlanView:
    steps = list(session.exec(select(Step).where(Step.plan_id == plan.id).order_by(Step.position)))  # type: ignore[arg-type]
    actions = list(session.exec(select(Action).where(Action.plan_id == plan.id)))
    views = {v.step_id: v for v in load_action_views(session, actions)}
    return PlanView(
        plan_id=plan.id,
        version=plan.version,
        planner=plan.planner,
        brief=plan.brief,
        today=plan.today.isoformat(),
        goal=plan.goal,
        steps=[
            StepView(
                step_id=s.id,
                agent=s.agent,
                title=s.title,
                depends_on=s.depends_on,
                action=views.get(s.id),
            )
            for s in steps
        ],
    )
