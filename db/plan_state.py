"""One read of everything a decision on an action needs, in the decision's own transaction.

An approval checks the decider's stored role, the kill switch and the action's state, runs
the action, and proposes the steps it made ready, which needs the plan and every step with
its action. Read under the write lock (BEGIN IMMEDIATE), this is the state the decision acts
on: nothing can change it before the transaction commits, so nothing is read twice. The
audit chain's latest hash comes with it, for the events the decision appends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from db.models import Action, AuditEvent, Meta, Plan, Step, User

KILL_SWITCH_KEY = "kill_switch"
"""The Meta row that says whether the kill switch is engaged ("on")."""


@dataclass
class PlanState:
    """An action's plan as one transaction read it, with who is deciding."""

    plan: Plan
    steps: list[Step]
    """Every step of the plan, superseded ones included, by position."""
    actions: dict[str, Action]
    """Each step's action, by step id (a step has at most one)."""
    role: str | None
    """The decider's stored role; None when there is no such user."""
    kill_switch: bool
    audit_head: str | None
    """The hash of the latest audit event; None before the first."""

    def action(self, action_id: str) -> Action | None:
        return next((a for a in self.actions.values() if a.id == action_id), None)


def _statement() -> Any:
    """The one statement, built once (its parameters: the action id and the user's name)."""
    plan_id = select(Action.plan_id).where(Action.id == bindparam("action_id")).scalar_subquery()
    role = select(User.role).where(User.name == bindparam("user")).scalar_subquery()
    kill = select(Meta.value).where(Meta.key == KILL_SWITCH_KEY).scalar_subquery()
    head = select(AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1).scalar_subquery()
    return (
        sa_select(Step, Action, Plan, role, kill, head)
        .join(Plan, col(Plan.id) == col(Step.plan_id))
        .outerjoin(Action, col(Action.step_id) == col(Step.id))
        .where(col(Step.plan_id) == plan_id)
        .order_by(col(Step.position))
    )


_PLAN_STATE = _statement()


def read_plan_state(session: Session, *, action_id: str, user: str) -> PlanState | None:
    """The plan of `action_id` with its steps, their actions, `user`'s role, the kill switch
    and the audit head, in one statement; None when there is no such action.

    PostgreSQL: the same statement, with `FOR UPDATE` on the action's row.
    """
    rows = session.execute(_PLAN_STATE, {"action_id": action_id, "user": user}).all()
    if not rows:
        return None
    _, _, plan, stored_role, switch, audit_head = rows[0]
    return PlanState(
        plan=plan,
        steps=[row[0] for row in rows],
        actions={step.id: action for step, action, *_ in rows if action is not None},
        role=stored_role,
        kill_switch=switch == "on",
        audit_head=audit_head,
    )
