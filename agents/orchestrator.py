"""The loop: propose every ready step, run what policy lets run, execute approved actions once."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeAlias

from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from agents import approval, ledger, lifecycle
from agents.accounts import actor_for
from agents.approval import Decided, execution_row
from agents.kill_switch import kill_switch_on
from agents.lifecycle import Actor, DecisionError, params_hash
from agents.memory.autonomy import lower as lower_autonomy
from agents.memory.lessons import learn_from_edit, learn_from_reason
from agents.planning.goal import Goal
from agents.policy import Policy
from agents.proposal import (
    build_context,
    gate_for,
    jsonable,
    merge_changes,
    propose_step,
    sentence_of,
    stored_result,
)
from agents.specialists.refinement import SpecialistModel
from agents.specialists.registry import skill_for
from db.engine import read_session, write_session
from db.execution_models import Execution
from db.models import Action, ActionRevision, Decision, Plan, Step

MAX_ROUNDS = 50
"""Loop guard: a plan never needs more proposal rounds than it has steps."""


def _ready_steps(session: Session, plan_id: str) -> list[Step]:
    steps = list(
        session.exec(
            select(Step)
            .where(Step.plan_id == plan_id, col(Step.superseded_in).is_(None))
            .order_by(col(Step.position))
        )
    )
    actions = {a.step_id: a for a in session.exec(select(Action).where(Action.plan_id == plan_id))}
    done = {s.id for s in steps if s.id in actions and actions[s.id].status == "succeeded"}
    return [s for s in steps if s.id not in actions and all(d in done for d in s.depends_on)]


def advance(
    engine: Engine,
    plan_id: str,
    policy: Policy,
    *,
    author: str = "orchestrator",
    model: SpecialistModel | None = None,
    ready: list[str] | None = None,
) -> list[str]:
    """Propose every ready step (running what policy allows) until nothing more is ready.

    `ready` is the ready steps when the caller has just read them. Returns the ids of the
    actions created, in order.
    """
    created: list[str] = []
    for _ in range(MAX_ROUNDS):
        if ready is None:
            with read_session(engine) as session:
                ready = [s.id for s in _ready_steps(session, plan_id)]
        if not ready:
            break
        ran = False
        for step_id in ready:
            action = propose_step(engine, plan_id, step_id, policy, author, model)
            if action is None:
                continue
            created.append(action.id)
            if action.status == "approved":
                execute(engine, action.id, policy)
                ran = True
        if not ran:
            break  # only a finished action makes another step ready
        ready = None
    return created


Specialists: TypeAlias = Callable[[str, str], AbstractContextManager[SpecialistModel | None]]
"""(plan id, planner) -> the specialist model for that plan's proposals (None offline)."""


def decide(
    engine: Engine,
    *,
    action_id: str,
    revision: int,
    verdict: str,
    user: str,
    policy: Policy,
    changes: dict[str, Any] | None = None,
    reason: str = "",
    specialists: Specialists,
) -> Decided:
    """The loop's one entry for a person's verdict: edit, approve, execute and advance.

    `user` decides with the role stored for them. An unchanged approval takes one
    transaction (`agents/approval.py`) unless its plan calls a model or its tool fails;
    otherwise the approval, the start of its execution, the run, the review of its result
    against the goal and the read of the steps it made ready are one transaction, and then
    every ready step is proposed.
    """
    if verdict == "approve" and not changes:
        fast = approval.approve(engine, action_id=action_id, revision=revision, user=user,
                                policy=policy)  # fmt: skip
        if fast is not None and not fast.runs:
            return fast
        if fast is not None:  # policy approved some proposals at once: run them, go on
            for action in fast.runs:
                execute(engine, action, policy)
            after = advance(engine, fast.plan_id, policy)
            return replace(fast, created=[*fast.created, *after], carried=None, runs=[])
    actor = actor_for(engine, user)
    before = _plan_mark(engine, action_id) if verdict != "approve" or changes else None
    created: list[str] = []
    if verdict == "reject":
        reject(engine, action_id=action_id, revision=revision, actor=actor, reason=reason,
               policy=policy)  # fmt: skip
    else:
        if changes:
            revision = edit(engine, action_id=action_id, revision=revision, actor=actor,
                            changes=changes, policy=policy).revision  # fmt: skip
        if verdict == "approve":
            now = datetime.now(UTC)
            with write_session(engine) as session:
                approved = _approve(session, action_id, revision, actor, policy, now)
                plan = session.get(Plan, approved.plan_id)  # loaded by _approve: no query
                assert plan is not None
                before = before or (plan.id, plan.version, list(plan.notices), plan.planner)
                execution = _start(session, approved, now)
                # Decided, started and run in one transaction: the revision just approved
                # is the one that runs, and a crash leaves nothing half-done.
                _execute(session, approved, policy, approved.params_hash, execution)
                ready = [s.id for s in _ready_steps(session, plan.id)]
            with specialists(before[0], before[3]) as model:
                created = advance(engine, before[0], policy, model=model, ready=ready)
    assert before is not None
    return Decided(action_id, before[0], actor, revision, created, before[1], before[2])


def _plan_mark(engine: Engine, action_id: str) -> tuple[str, int, list[str], str]:
    """The action's plan as it stands: id, version, notices, planner."""
    with read_session(engine) as session:
        action = session.get(Action, action_id)
        plan = session.get(Plan, action.plan_id) if action is not None else None
        if action is None or plan is None:
            raise DecisionError("not_found", f"There is no action {action_id}.")
        return plan.id, plan.version, list(plan.notices), plan.planner


def edit(
    engine: Engine,
    *,
    action_id: str,
    revision: int,
    actor: Actor,
    changes: dict[str, Any],
    policy: Policy,
) -> Action:
    """Apply a person's edit as a new revision, after the specialist and the gate re-check it."""
    if not changes:
        raise DecisionError("invalid", "An edit needs at least one changed parameter.")
    now = datetime.now(UTC)
    with read_session(engine) as session:
        action = lifecycle.load_for_decision(session, action_id=action_id, revision=revision)
        lifecycle.check_role(action, actor, policy)
        skill = skill_for(action.tool)
        merged, changed = merge_changes(action.params, changes, skill.editable, action.tool)
        plan = session.get(Plan, action.plan_id)
        step = session.get(Step, action.step_id)
        assert plan is not None and step is not None
        try:
            evaluation = skill.evaluate(
                build_context(session, plan, step, policy), merged, frozenset(changed)
            )
            params = skill.params_model.model_validate(evaluation.params).model_dump(mode="json")
        except (ValueError, ValidationError) as exc:
            raise DecisionError("invalid", f"That edit is not valid: {sentence_of(exc)}") from exc
        gate = gate_for(session, policy, plan, action.tool, params, evaluation.evidence)
        if gate.failures:
            reasons = "; ".join(f"{c.rule}: {c.detail}" for c in gate.failures)
            raise DecisionError(
                "policy", f"That edit breaks policy ({reasons}); nothing was changed."
            )
        diff = {k: [action.params.get(k), params.get(k)] for k in sorted(changed)}
        goal_playbook = Goal.model_validate(plan.goal).playbook
    with write_session(engine) as session:
        action = lifecycle.load_for_decision(session, action_id=action_id, revision=revision)
        revised = lifecycle.revise(
            session,
            action,
            actor=actor,
            params=params,
            evidence=jsonable(evaluation.evidence),
            checks=[c.model_dump() for c in gate.checks],
            requires_approval=gate.requires_approval,
            required_role=gate.required_role,
            changes=diff,
            policy=policy,
            now=now,
        )
        session.flush()
        decision = session.exec(
            select(Decision)
            .where(Decision.action_id == action_id, Decision.verdict == "edit")
            .order_by(col(Decision.id).desc())
        ).first()
        assert decision is not None and decision.id is not None
        learn_from_edit(
            session,
            agent=revised.agent,
            tool=revised.tool,
            playbook=goal_playbook,
            changes=diff,
            decision_id=decision.id,
            actor=actor.name,
            now=now,
        )
        return revised


def approve(
    engine: Engine, *, action_id: str, revision: int, actor: Actor, policy: Policy
) -> Action:
    """Approve one revision, after re-checking role, kill switch and policy on the server."""
    with write_session(engine) as session:
        return _approve(session, action_id, revision, actor, policy, datetime.now(UTC))


def _approve(
    session: Session, action_id: str, revision: int, actor: Actor, policy: Policy, now: datetime
) -> Action:
    action = lifecycle.load_for_decision(session, action_id=action_id, revision=revision)
    lifecycle.check_role(action, actor, policy)
    if kill_switch_on(session):
        raise DecisionError(
            "paused",
            "Automation is paused by the kill switch; nothing "
            "can be approved until it is released.",
        )
    plan = session.get(Plan, action.plan_id)
    assert plan is not None
    gate = gate_for(session, policy, plan, action.tool, action.params, action.evidence)
    if gate.failures:
        reasons = "; ".join(f"{c.rule}: {c.detail}" for c in gate.failures)
        raise DecisionError(
            "policy", f"Action {action_id} cannot be approved: {reasons}. Edit it or reject it."
        )
    if gate.required_role != action.required_role:
        action.required_role = gate.required_role
        lifecycle.check_role(action, actor, policy)
    return lifecycle.approve(session, action, actor=actor, policy=policy, now=now)


def reject(
    engine: Engine, *, action_id: str, revision: int, actor: Actor, reason: str, policy: Policy
) -> Action:
    reason = reason.strip()
    if not reason:
        raise DecisionError("invalid", "A rejection needs a reason, so Baton can learn from it.")
    now = datetime.now(UTC)
    with write_session(engine) as session:
        action = lifecycle.load_for_decision(session, action_id=action_id, revision=revision)
        lifecycle.check_role(action, actor, policy)
        params = dict(action.params)
        rejected = lifecycle.reject(
            session, action, actor=actor, reason=reason, policy=policy, now=now
        )
        _learn_from_rejection(session, rejected, params, actor=actor, reason=reason, now=now)
        return rejected


def _learn_from_rejection(
    session: Session,
    action: Action,
    params: dict[str, Any],
    *,
    actor: Actor,
    reason: str,
    now: datetime,
) -> None:
    """What a rejection teaches: the lessons its reason states, and that the kind asks again."""
    session.flush()
    decision = session.exec(
        select(Decision)
        .where(Decision.action_id == action.id, Decision.verdict == "reject")
        .order_by(col(Decision.id).desc())
    ).first()
    plan = session.get(Plan, action.plan_id)
    assert decision is not None and decision.id is not None and plan is not None
    learn_from_reason(
        session,
        text=reason,
        tool=action.tool,
        params=params,
        playbook=Goal.model_validate(plan.goal).playbook,
        source="rejection",
        actor=actor.name,
        now=now,
        decision_id=decision.id,
    )
    lower_autonomy(
        session,
        kind=action.tool,
        actor=actor.name,
        reason=f"{actor.name} rejected {action.id}: {reason}",
        now=now,
        decision_id=decision.id,
    )


def execute(engine: Engine, action_id: str, policy: Policy) -> Action:
    """Run an approved action exactly once (idempotency key: action id + revision)."""
    now = datetime.now(UTC)
    with write_session(engine) as session:
        action = session.get(Action, action_id)
        if action is None or action.status != "approved":
            return _reload(engine, action_id)
        if kill_switch_on(session):
            lifecycle.cancel(
                session,
                action,
                actor=Actor("kill switch", "system"),
                reason="kill switch engaged",
                now=now,
            )
            return action
        _start(session, action, now)
    return _run(engine, action_id, policy)


def _start(session: Session, action: Action, now: datetime) -> Execution:
    """approved -> executing, with the execution row that keys it (action id + revision)."""
    lifecycle.start_execution(session, action, now=now)
    execution = execution_row(action, status="running", started=now)
    session.add(execution)
    return execution


def _run(engine: Engine, action_id: str, policy: Policy) -> Action:
    """Phase two of execution, in a transaction of its own (see `_execute`)."""
    with write_session(engine) as session:
        action = session.get(Action, action_id)
        if action is None or action.status != "executing":
            return _reload(engine, action_id)
        approved = session.exec(
            select(ActionRevision.params_hash).where(
                ActionRevision.action_id == action.id, ActionRevision.revision == action.revision
            )
        ).one()
        return _execute(session, action, policy, approved)


def _execute(
    session: Session,
    action: Action,
    policy: Policy,
    approved_hash: str,
    execution: Execution | None = None,
) -> Action:
    """Run the tool, record the outcome and weigh it against the goal (continue, revise or
    ask), in the caller's transaction. `execution` is the row `_start` added in it, if any."""
    plan = session.get(Plan, action.plan_id)
    step = session.get(Step, action.step_id)
    assert plan is not None and step is not None
    result: dict[str, Any] | None = None
    error: str | None = None
    if params_hash(action.params) != approved_hash:
        error = "The parameters differ from the approved revision; nothing was executed."
    else:
        try:
            with session.begin_nested():
                ctx = build_context(session, plan, step, policy)
                result = stored_result(skill_for(action.tool).execute(ctx, action))
        except Exception as exc:  # a failed tool must leave a failed action, not a stuck one
            error = f"The {action.agent} tool failed: {sentence_of(exc)}"
    now = datetime.now(UTC)
    lifecycle.finish_execution(session, action, result=result, error=error, now=now)
    outcome = {
        "status": "failed" if error else "succeeded",
        "result": result,
        "error": error,
        "finished_at": now,
    }
    if execution is not None:
        for key, value in outcome.items():
            setattr(execution, key, value)
    else:
        key = f"{action.id}:{action.revision}"
        session.execute(
            update(Execution).where(col(Execution.idempotency_key) == key).values(**outcome)
        )
    if action.status == "succeeded":
        ledger.apply(session, plan, ledger.review(session, plan, action), trigger=action, now=now)
    return action


def resume(engine: Engine, policy: Policy) -> list[str]:
    """Finish what a crash interrupted: approved actions not started, executions not finished."""
    with read_session(engine) as session:
        pending = lifecycle.interrupted(session)
    for action in pending:
        if action.status == "approved":
            execute(engine, action.id, policy)
        else:
            _run(engine, action.id, policy)
    return [a.id for a in pending]


def _reload(engine: Engine, action_id: str) -> Action:
    with read_session(engine) as session:
        action = session.get(Action, action_id)
        if action is None:
            raise DecisionError("not_found", f"There is no action {action_id}.")
        return action
