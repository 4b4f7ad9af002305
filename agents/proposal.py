"""Turning a ready step into a proposed action.

The specialist gets its context (the goal, what upstream steps produced, the plan's day),
its tool proposes, earlier lessons bend the proposal, the specialist's model (for LLM
plans) writes the rationale within what code allows, and the policy gate decides whether a
person must approve. The result is stored as one proposal, or as a failed action that says
why the specialist could not propose.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, time
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from agents import lifecycle
from agents.gate import GateResult, content_for, run_gate
from agents.lifecycle import POLICY_ACTOR, DecisionError, params_hash
from agents.memory.autonomy import earned_for
from agents.memory.lessons import apply_lessons, lessons_for
from agents.planning.goal import Goal
from agents.policy import Policy
from agents.specialists.base import Proposal, SkillContext
from agents.specialists.refinement import Refinement, SpecialistModel
from agents.specialists.registry import skill_for
from db.audit import append_audit
from db.engine import read_session, write_session
from db.models import Action, Plan, Step
from db.plan_state import PlanState
from db.rows import new_row


def plan_now(today: date) -> datetime:
    """The instant tools treat as "now" for a plan: the start of its pinned day, in UTC."""
    return datetime.combine(today, time.min, tzinfo=UTC)


def _upstream(session: Session, step: Step, known: PlanState | None) -> dict[str, Action]:
    """Succeeded actions of every step this one depends on, directly or not, by step key.

    `known` is the plan as the caller's transaction read it, when it has.
    """
    if known is not None:
        steps = {s.id: s for s in known.steps}
        actions = {k: a for k, a in known.actions.items() if a.status == "succeeded"}
    else:
        steps = {s.id: s for s in session.exec(select(Step).where(Step.plan_id == step.plan_id))}
        actions = {
            a.step_id: a
            for a in session.exec(
                select(Action).where(Action.plan_id == step.plan_id, Action.status == "succeeded")
            )
        }
    found: dict[str, Action] = {}
    pending = list(step.depends_on)
    while pending:
        dep = steps.get(pending.pop())
        if dep is None or dep.key in found:
            continue
        if dep.id in actions:
            found[dep.key] = actions[dep.id]
        pending.extend(dep.depends_on)
    return found


def build_context(
    session: Session, plan: Plan, step: Step, policy: Policy, known: PlanState | None = None
) -> SkillContext:
    """What a specialist may see for one step: its plan's goal and day, upstream results."""
    return SkillContext(
        session=session,
        goal=Goal.model_validate(plan.goal),
        step=step,
        today=plan.today,
        now=plan_now(plan.today),
        policy=policy,
        upstream=_upstream(session, step, known),
    )


def gate_for(
    session: Session,
    policy: Policy,
    plan: Plan,
    action_kind: str,
    params: dict[str, Any],
    evidence: dict[str, Any],
) -> GateResult:
    """Run the policy gate for one revision of an action of this plan."""
    skill = skill_for(action_kind)
    goal = Goal.model_validate(plan.goal)
    return run_gate(
        policy,
        kind=action_kind,
        risk=skill.risk,
        reaches_people=skill.reaches_people,
        params=params,
        evidence=evidence,
        today=plan.today,
        channels=list(goal.channels),
        content=content_for(session, policy, params),
        earned=earned_for(session, action_kind),
    )


def propose_step(
    engine: Engine,
    plan_id: str,
    step_id: str,
    policy: Policy,
    author: str,
    model: SpecialistModel | None = None,
) -> Action | None:
    """Propose one ready step; policy approves it at once when no person needs to.

    None when another instance proposed the step first: each step gets one action.
    """
    now = datetime.now(UTC)
    with read_session(engine) as session:
        plan = session.get(Plan, plan_id)
        step = session.get(Step, step_id)
        assert plan is not None and step is not None
        action = draft(session, plan, step, policy, now=now, model=model)
    try:
        with write_session(engine) as session:
            record(session, action, policy, author=author, now=now)
    except IntegrityError:
        return None  # another instance proposed this step first
    return action


def draft(
    session: Session,
    plan: Plan,
    step: Step,
    policy: Policy,
    *,
    now: datetime,
    model: SpecialistModel | None = None,
    known: PlanState | None = None,
) -> Action:
    """The action a ready step's specialist proposes, gated, not yet stored.

    A specialist that cannot propose gives a failed action that says why.
    """
    skill = skill_for(step.kind)
    ctx = build_context(session, plan, step, policy, known)
    base: dict[str, Any] = dict(
        id=lifecycle.new_id("act"),
        plan_id=plan.id,
        step_id=step.id,
        agent=step.agent,
        tool=step.kind,
        title=step.title,
        risk=skill.risk,
        editable=list(skill.editable),
        created_at=now,
        updated_at=now,
    )
    try:
        proposal = skill.propose(ctx)
        params = skill.params_model.model_validate(proposal.params).model_dump(mode="json")
    except (ValueError, ValidationError) as exc:
        return new_row(
            Action,
            **base,
            params={},
            params_hash=params_hash({}),
            status="failed",
            error=f"The {step.agent} specialist could not propose this step: {sentence_of(exc)}",
        )
    params, evidence, applied = _apply_lessons(ctx, step.kind, params, proposal.evidence)
    rationale = proposal.rationale
    model_record: dict[str, Any] = {}
    if model is not None:
        refined = _refine(model, ctx, base["id"], params, evidence, proposal, applied)
        params, evidence, rationale = refined.params, refined.evidence, refined.rationale
        model_record = refined.record
    if applied:
        rationale += " Applied: " + "; ".join(x["statement"] for x in applied) + "."
    gate = gate_for(session, policy, plan, step.kind, params, evidence)
    return new_row(
        Action,
        **base,
        params=params,
        params_hash=params_hash(params),
        rationale=rationale,
        lessons_applied=applied,
        evidence=jsonable(evidence),
        alternatives=jsonable(proposal.alternatives),
        policy_checks=[c.model_dump() for c in gate.checks],
        requires_approval=gate.requires_approval,
        required_role=gate.required_role,
        record={
            "context": jsonable(proposal.context),
            "planner": plan.planner,
            "policy_hash": policy.sha256,
            "proposed_at": now.isoformat(),
            "today": plan.today.isoformat(),
            **model_record,
        },
    )


def record(session: Session, action: Action, policy: Policy, *, author: str, now: datetime) -> None:
    """Store a drafted action; policy approves it at once when no person needs to."""
    lifecycle.record_proposal(session, action, author=author, now=now)
    if action.status == "proposed" and not action.requires_approval:
        lifecycle.approve(session, action, actor=POLICY_ACTOR, policy=policy, now=now)
    if action.status == "failed":
        append_audit(
            session,
            at=now,
            actor=author,
            kind="action.proposal_failed",
            entity="action",
            entity_id=action.id,
            data={"error": action.error},
        )


def _refine(
    model: SpecialistModel,
    ctx: SkillContext,
    action_id: str,
    params: dict[str, Any],
    evidence: dict[str, Any],
    proposal: Proposal,
    applied: list[dict[str, Any]],
) -> Refinement:
    """Let the step's specialist model write the rationale (and copy), within what code allows."""
    skill = skill_for(ctx.step.kind)
    plan = ctx.session.get(Plan, ctx.step.plan_id)
    assert plan is not None
    locked = {
        x.param.split(".", 1)[0]
        for x in lessons_for(ctx.session, tool=ctx.step.kind, playbook=ctx.goal.playbook)
    }

    def merge(base: dict[str, Any], changes: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
        try:
            return merge_changes(base, changes, skill.editable, skill.kind)
        except DecisionError as exc:
            raise ValueError(str(exc)) from None

    return model.refine(
        ctx,
        skill,
        action_id=action_id,
        params=params,
        evidence=evidence,
        alternatives=proposal.alternatives,
        rationale=proposal.rationale,
        lessons=[x["statement"] for x in applied],
        locked=locked,
        merge=merge,
        gate=lambda p, e: gate_for(ctx.session, ctx.policy, plan, skill.kind, p, e),
    )


def _apply_lessons(
    ctx: SkillContext, kind: str, params: dict[str, Any], evidence: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Bend the proposal to what earlier decisions taught, then let the specialist re-evaluate.

    A lesson policy does not leave room for is not applied; the evidence says which.
    """
    found = lessons_for(ctx.session, tool=kind, playbook=ctx.goal.playbook)
    bent = apply_lessons(found, params, evidence, policy=ctx.policy)
    applied = [{"lesson_id": x.id, "statement": x.statement} for x in bent.applied]
    if bent.unmet:
        evidence = {**evidence, "lessons_not_applied": "; ".join(x.statement for x in bent.unmet)}
    if not bent.changed:
        return params, evidence, applied
    skill = skill_for(kind)
    evaluation = skill.evaluate(ctx, bent.params, frozenset(bent.changed))
    params = skill.params_model.model_validate(evaluation.params).model_dump(mode="json")
    return params, {**evidence, **evaluation.evidence}, applied


def merge_changes(
    params: dict[str, Any], changes: dict[str, Any], editable: tuple[str, ...], tool: str
) -> tuple[dict[str, Any], set[str]]:
    """Apply dotted-path changes ("allocations.sms": 400) to a copy of the parameters."""
    merged = copy.deepcopy(params)
    changed: set[str] = set()
    for path, value in changes.items():
        top = path.split(".", 1)[0]
        if path not in editable and top not in editable:
            allowed = ", ".join(editable) or "none"
            raise DecisionError(
                "invalid", f"'{path}' is not an editable parameter of {tool} (editable: {allowed})."
            )
        target = merged
        parts = path.split(".")
        for part in parts[:-1]:
            if not isinstance(target.get(part), dict):
                raise DecisionError("invalid", f"'{path}' does not name a parameter of {tool}.")
            target = target[part]
        if len(parts) > 1 and parts[-1] not in target:
            raise DecisionError("invalid", f"'{path}' does not name a parameter of {tool}.")
        target[parts[-1]] = value
        changed.add(top)
    return merged, changed


def jsonable(value: Any) -> Any:
    """`value` as the JSON columns store it (dates and decimals become strings)."""
    return json.loads(json.dumps(value, default=str))


def stored_result(result: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """An execution's result as the JSON column stores it."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return dict(jsonable(result))


def sentence_of(exc: Exception) -> str:
    """An exception (a pydantic one included) as one sentence for the marketer."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        msg = first["msg"].removeprefix("Value error, ")
        return f"{where}: {msg}." if where else f"{msg}."
    text = str(exc).strip() or type(exc).__name__
    return text if text.endswith(".") else text + "."
