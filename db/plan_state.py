"""One read of everything a decision on an action needs, in the decision's own transaction.

An approval checks the decider's stored role, the kill switch and the action's state, runs
the action, and proposes the steps it made ready, which needs the plan and every step with
its action. Read under the write lock (BEGIN IMMEDIATE), this is the state the decision acts
on: nothing can change it before the transaction commits, so nothing is read twice. The
audit chain's latest hash comes with it, for the events the decision appends.

The rows are read as plain columns (JSON as its text) and turned into objects here, not by
the ORM's loading, which cost more than the rest of the read: only the plan and the action
decided on, which the decision changes, join the session.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, String, and_, bindparam, type_coerce
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from db.engine import core_connection
from db.models import Action, AuditEvent, Meta, Plan, Step, User
from db.rows import loaded_row, persistent_row

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


def _columns(model: type[SQLModel]) -> list[Any]:
    """The table's columns as the read selects them: JSON ones as their stored text."""
    table = model.__table__  # type: ignore[attr-defined]
    return [
        type_coerce(c, String()).label(f"{table.name}_{c.key}")
        if isinstance(c.type, JSON)
        else c.label(f"{table.name}_{c.key}")
        for c in table.columns
    ]


def _json_keys(model: type[SQLModel]) -> frozenset[str]:
    table = model.__table__  # type: ignore[attr-defined]
    return frozenset(c.key for c in table.columns if isinstance(c.type, JSON))


def _keys(model: type[SQLModel]) -> tuple[str, ...]:
    return tuple(c.key for c in model.__table__.columns)  # type: ignore[attr-defined]


_STEP, _ACTION, _PLAN = _keys(Step), _keys(Action), _keys(Plan)
_JSON: dict[type[SQLModel], frozenset[str]] = {m: _json_keys(m) for m in (Step, Action, Plan)}


def _statement() -> Any:
    """The one statement, built once (its parameters: the action id and the user's name).

    Rows of plain columns, not ORM entities: the objects are built from them (below). The
    plan's columns are joined to the decided action's row only (one copy to read, not one a
    step)."""
    plan_id = select(Action.plan_id).where(Action.id == bindparam("action_id")).scalar_subquery()
    role = select(User.role).where(User.name == bindparam("user")).scalar_subquery()
    kill = select(Meta.value).where(Meta.key == KILL_SWITCH_KEY).scalar_subquery()
    head = select(AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1).scalar_subquery()
    return (
        sa_select(*_columns(Step), *_columns(Action), *_columns(Plan), role, kill, head)
        .select_from(Step)
        .outerjoin(Action, col(Action.step_id) == col(Step.id))
        .outerjoin(
            Plan,
            and_(col(Plan.id) == col(Step.plan_id), col(Action.id) == bindparam("action_id")),
        )
        .where(col(Step.plan_id) == plan_id)
        .order_by(col(Step.position))
    )


_PLAN_STATE = _statement()


def _decoded(text: Any) -> Any:
    """A JSON column's value from its stored text (the empty containers most hold, at once).

    A driver that decodes JSON itself (psycopg on PostgreSQL) hands over the value."""
    if text is None or type(text) is not str:
        return text
    if text == "{}":
        return {}
    if text == "[]":
        return []
    return json.loads(text)


def _values(model: type[SQLModel], keys: tuple[str, ...], row: Any) -> dict[str, Any]:
    values = dict(zip(keys, row, strict=True))
    for key in _JSON[model]:
        values[key] = _decoded(values[key])
    return values


def read_plan_state(session: Session, *, action_id: str, user: str) -> PlanState | None:
    """The plan of `action_id` with its steps, their actions, `user`'s role, the kill switch
    and the audit head, in one statement; None when there is no such action.

    The plan and the action decided on are the session's objects, as a query of them would
    give (what the decision changes on them is written as usual); the steps and the other
    actions are read-only copies.
    PostgreSQL: the same statement, with `FOR UPDATE` on the action's row.
    """
    params = {"action_id": action_id, "user": user}
    rows = core_connection(session).execute(_PLAN_STATE, params).all()
    if not rows:
        return None
    steps_end, actions_end = len(_STEP), len(_STEP) + len(_ACTION)
    decided_row = next(row for row in rows if row[actions_end] is not None)
    plan = persistent_row(session, Plan, _values(Plan, _PLAN, decided_row[actions_end:-3]))
    stored_role, switch, audit_head = rows[0][-3:]
    steps: list[Step] = []
    actions: dict[str, Action] = {}
    for row in rows:
        step = loaded_row(Step, _values(Step, _STEP, row[:steps_end]))
        steps.append(step)
        if row[steps_end] is not None:
            values = _values(Action, _ACTION, row[steps_end:actions_end])
            decided = values["id"] == action_id
            actions[step.id] = (
                persistent_row(session, Action, values) if decided else loaded_row(Action, values)
            )
    return PlanState(
        plan=plan,
        steps=steps,
        actions=actions,
        role=stored_role,
        kill_switch=switch == "on",
        audit_head=audit_head,
    )
