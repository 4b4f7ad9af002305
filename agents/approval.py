"""An approval in one transaction: check it, run it, propose what it made ready.

The decision people make most is approving a proposal unchanged. Under the write lock this
path reads the plan once (its steps, their actions, the decider's role, the kill switch,
the audit head; `db/plan_state.py`), checks the decision against that state and policy,
runs the action, weighs the result against the goal, proposes every step it made ready and
writes it all in one commit: one compare-and-set moves the action from proposed to
succeeded (no other transaction can see the states between; the audit log records each),
and the rows the decision adds go in one INSERT per table. A crash leaves either nothing or
the approval with its next proposals.

It steps aside (returns None, having written nothing) where the careful path in
`agents/orchestrator.py` is needed: a plan whose specialists call a model (no model call
holds the write lock), or a tool that fails (its partial writes are rolled back there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from agents import ledger, lifecycle
from agents.errors import DecisionError
from agents.lifecycle import Actor, params_hash
from agents.memory import autonomy
from agents.memory.autonomy import AutonomySuggestion
from agents.policy import Policy
from agents.proposal import build_context, draft, gate_for, record, stored_result
from agents.specialists.registry import skill_for
from db.append import write_new_rows
from db.audit import carry_head
from db.engine import write_session
from db.execution_models import Execution
from db.models import Action, Decision, PlanRevision
from db.plan_state import PlanState, read_plan_state
from db.rows import new_row


@dataclass(frozen=True)
class Carried:
    """What the decision's transaction already holds for its outcome: nothing is read again."""

    actions: list[Action]
    """The decided action, then the actions proposed after it."""
    decisions: dict[str, list[Decision]]
    """Each of those actions' decisions, oldest first."""
    revisions: list[PlanRevision]
    notices: list[str]
    suggestion: AutonomySuggestion | None


@dataclass(frozen=True)
class Decided:
    """What one decision did: the revision decided and the actions that followed from it."""

    action_id: str
    plan_id: str
    actor: Actor
    """Who decided, with their stored role."""
    revision: int
    """The revision the verdict applied to (an edit's new revision)."""
    created: list[str]
    """Actions proposed (or run by policy) because this one finished, in order."""
    plan_version: int
    """The plan's version before the decision: later versions are re-plans it caused."""
    notices: list[str]
    """The plan's notices before the decision."""
    carried: Carried | None = field(default=None)
    """Set when the outcome can be built from what the decision's transaction held."""
    runs: list[str] = field(default_factory=list)
    """Of `created`, the actions policy approved at once, still to run."""


def execution_row(
    action: Action,
    *,
    status: str,
    started: datetime,
    result: dict[str, Any] | None = None,
    finished: datetime | None = None,
) -> Execution:
    """The row that keys one run of an action (action id + revision): at most one exists."""
    return new_row(
        Execution,
        idempotency_key=f"{action.id}:{action.revision}",
        action_id=action.id,
        revision=action.revision,
        params_hash=action.params_hash,
        status=status,
        result=result,
        started_at=started,
        finished_at=finished,
    )


class _StepAside(Exception):
    """The careful path must take this decision; the transaction rolls back."""


def approve(
    engine: Engine, *, action_id: str, revision: int, user: str, policy: Policy
) -> Decided | None:
    """Approve, run and advance in one transaction; None when the careful path must."""
    try:
        with write_session(engine) as session:
            return _approve(session, action_id, revision, user, policy)
    except _StepAside:
        return None


def _approve(session: Session, action_id: str, revision: int, user: str, policy: Policy) -> Decided:
    now = datetime.now(UTC)
    state = read_plan_state(session, action_id=action_id, user=user)
    if state is None:
        raise DecisionError("not_found", f"There is no action {action_id}.")
    if state.role is None:
        raise DecisionError("forbidden", f"There is no user {user!r}.")
    actor = Actor(user, state.role)
    plan = state.plan
    if plan.planner == "llm":
        raise _StepAside  # its proposals call the specialists' model
    action = lifecycle.decidable(session, state.action(action_id), action_id=action_id,
                                 revision=revision)  # fmt: skip
    lifecycle.check_role(action, actor, policy)
    if state.kill_switch:
        raise DecisionError(
            "paused",
            "Automation is paused by the kill switch; nothing "
            "can be approved until it is released.",
        )
    carry_head(session, state.audit_head)
    gate = gate_for(session, policy, plan, action.tool, action.params, action.evidence)
    if gate.failures:
        reasons = "; ".join(c.rule + ": " + c.detail for c in gate.failures)
        raise DecisionError(
            "policy", f"Action {action_id} cannot be approved: {reasons}. Edit it or reject it."
        )
    if gate.required_role != action.required_role:
        action.required_role = gate.required_role
        lifecycle.check_role(action, actor, policy)
    before = (plan.version, list(plan.notices))
    step = next(s for s in state.steps if s.id == action.step_id)
    if params_hash(action.params) != action.params_hash:
        raise _StepAside  # the careful path records why nothing ran
    try:
        ctx = build_context(session, plan, step, policy, state)
        result = stored_result(skill_for(action.tool).execute(ctx, action))
    except Exception:
        raise _StepAside from None  # rolled back; the careful path records the failure
    finished = datetime.now(UTC)
    lifecycle.approve_and_run(session, action, actor=actor, policy=policy, now=now,
                              result=result, finished=finished)  # fmt: skip
    session.add(
        execution_row(action, status="succeeded", started=now, result=result, finished=finished)
    )
    version = ledger.apply(session, plan, ledger.review(session, plan, action), trigger=action,
                           now=finished)  # fmt: skip
    if version != before[0]:  # re-planned: read the steps as they now stand
        state = read_plan_state(session, action_id=action_id, user=user) or state
    created = _propose_ready(session, state, policy, now=finished)
    decisions = _decisions(session, [action, *created])
    if not any(a.status == "approved" for a in created):  # no auto-approval reads them back
        write_new_rows(session)
    suggestion = autonomy.suggestion(session, policy, action.tool, role=actor.role)
    revisions = (
        list(
            session.exec(
                select(PlanRevision)
                .where(PlanRevision.plan_id == plan.id, col(PlanRevision.version) > before[0])
                .order_by(col(PlanRevision.version))
            )
        )
        if version != before[0]
        else []
    )
    return Decided(
        action_id=action.id,
        plan_id=plan.id,
        actor=actor,
        revision=revision,
        created=[a.id for a in created],
        plan_version=before[0],
        notices=before[1],
        carried=Carried([action, *created], decisions, revisions, list(plan.notices), suggestion),
        runs=[a.id for a in created if a.status == "approved"],
    )


def _propose_ready(
    session: Session, state: PlanState, policy: Policy, *, now: datetime
) -> list[Action]:
    """Draft and record a proposal for every step the plan now has ready, in order.

    The rows this transaction added so far are written with the proposals' (one flush):
    drafting reads only the workspace, lessons and grants, none of which they change.
    """
    done = {k for k, a in state.actions.items() if a.status == "succeeded"}
    ready = [
        s
        for s in state.steps
        if s.superseded_in is None
        and s.id not in state.actions
        and all(d in done for d in s.depends_on)
    ]
    created: list[Action] = []
    for step in ready:
        with session.no_autoflush:
            action = draft(session, state.plan, step, policy, now=now, known=state)
        record(session, action, policy, author="orchestrator", now=now)
        created.append(action)
    return created


def _decisions(session: Session, actions: list[Action]) -> dict[str, list[Decision]]:
    """The decisions on these actions, oldest first: those this transaction made, and for an
    action edited before (revision 2 and up) the earlier ones, from the record."""
    found: dict[str, list[Decision]] = {a.id: [] for a in actions}
    if any(a.revision > 1 for a in actions):
        for d in session.exec(
            select(Decision).where(col(Decision.action_id).in_(found)).order_by(col(Decision.id))
        ):
            found[d.action_id].append(d)
        return found
    # Only this transaction's decisions exist: one per action (an approval or policy's).
    for d in [*session.identity_map.values(), *session.new]:
        if isinstance(d, Decision) and d.action_id in found:
            found[d.action_id].append(d)
    return found
