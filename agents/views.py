"""The public shapes of plans and actions: the CLI's JSON contract and what the chat renders."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from agents.llm.accounting import PlanUsage, plan_usage
from agents.policy import Policy
from db.models import Action, Decision, LLMCall, Plan, PlanRevision, Step


class CheckView(BaseModel):
    rule: str
    passed: bool
    detail: str
    rule_version: str | None = None
    """Short hash of the policy or brand configuration the rule read (None on older records)."""


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
    needs_role: str
    """Who may decide now: the action's own required role and the policy's decide role."""
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


class RevisionView(BaseModel):
    """One re-plan: the version it made, why, and what changed step by step."""

    version: int
    reason: str
    diff: list[dict[str, Any]]
    at: str


class PlanView(BaseModel):
    plan_id: str
    version: int
    planner: str
    brief: str
    today: str
    goal: dict[str, Any]
    steps: list[StepView]
    """The current steps (a re-plan's dropped or replaced steps are in `revisions`)."""
    usage: PlanUsage = Field(default_factory=PlanUsage)
    """Model calls, tokens and cost spent on this plan (zeros for the offline planner)."""
    notices: list[str] = Field(default_factory=list)
    """What the marketer was told while planning, e.g. that the offline planner stood in."""
    revisions: list[RevisionView] = Field(default_factory=list)


def action_view(
    action: Action, decisions: list[Decision], policy: Policy | None = None
) -> ActionView:
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
        needs_role=(
            policy.role_for("decide", action_role=action.required_role)
            if policy is not None
            else action.required_role
        ),
        risk=action.risk,
        rationale=action.rationale,
        evidence=action.evidence,
        alternatives=action.alternatives,
        policy_checks=[CheckView.model_validate(c) for c in action.policy_checks],
        lessons_applied=action.lessons_applied,
        result=action.result,
        error=action.error,
        editable=_editable(action),
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


def _editable(action: Action) -> list[str]:
    """Stored on the action when proposed; rows from before that ask its kind's Skill."""
    if action.editable is not None:
        return action.editable
    # The registry loads every specialist and its tools: only for such older rows.
    from agents.specialists.registry import skill_for

    return list(skill_for(action.tool).editable)


def load_action_views(
    session: Session, actions: list[Action], policy: Policy | None = None
) -> list[ActionView]:
    """Views of these actions with their decisions; `policy` says who may decide now."""
    ids = [a.id for a in actions]
    decisions: dict[str, list[Decision]] = {i: [] for i in ids}
    if ids:
        for d in session.exec(
            select(Decision).where(col(Decision.action_id).in_(ids)).order_by(col(Decision.id))
        ):
            decisions[d.action_id].append(d)
    return [action_view(a, decisions[a.id], policy) for a in actions]


def plan_view(session: Session, plan: Plan, policy: Policy | None = None) -> PlanView:
    steps = list(
        session.exec(
            select(Step)
            .where(Step.plan_id == plan.id, col(Step.superseded_in).is_(None))
            .order_by(col(Step.position))
        )
    )
    revisions = session.exec(
        select(PlanRevision)
        .where(PlanRevision.plan_id == plan.id)
        .order_by(col(PlanRevision.version))
    )
    actions = list(session.exec(select(Action).where(Action.plan_id == plan.id)))
    views = {v.step_id: v for v in load_action_views(session, actions, policy)}
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
        usage=plan_usage(session, plan.id),
        notices=plan.notices,
        revisions=[revision_view(r) for r in revisions],
    )


def revision_view(revision: PlanRevision) -> RevisionView:
    return RevisionView(
        version=revision.version,
        reason=revision.reason,
        diff=revision.diff,
        at=revision.created_at.isoformat(),
    )


class SpecialistTrace(BaseModel):
    """One specialist's work on a plan, as the chat shows it: what it was given, what it gave."""

    action_id: str
    agent: str
    tool: str
    title: str
    input: dict[str, Any]
    output: dict[str, Any]


def specialist_traces(session: Session, plan_id: str) -> list[SpecialistTrace]:
    actions = session.exec(
        select(Action).where(Action.plan_id == plan_id).order_by(col(Action.created_at))
    )
    calls: dict[str, list[LLMCall]] = {}
    for call in session.exec(select(LLMCall).where(LLMCall.plan_id == plan_id)):
        calls.setdefault(call.action_id or "", []).append(call)
    traces = []
    for a in actions:
        record = a.record or {}
        given: dict[str, Any] = {"tool_context": record.get("context", {})}
        if "model_context" in record:
            given["model_context"] = record["model_context"]
        made = calls.get(a.id, [])
        output: dict[str, Any] = {"params": a.params, "rationale": a.rationale, "status": a.status}
        if made:
            output["model"] = {
                "calls": len(made),
                "tokens": sum(c.prompt_tokens + c.completion_tokens for c in made),
                "changes": record.get("model_changes", {}),
            }
        if record.get("model_error") or record.get("model_skipped"):
            output["model_note"] = record.get("model_error") or record.get("model_skipped")
        traces.append(
            SpecialistTrace(
                action_id=a.id,
                agent=a.agent,
                tool=a.tool,
                title=a.title,
                input=given,
                output=output,
            )
        )
    return traces
