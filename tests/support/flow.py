"""Small helpers for driving a plan through the service API in tests."""

from __future__ import annotations

from typing import Any

from agents.decision import DecisionRequest
from agents.service import Baton
from agents.views import ActionView


def action_for(baton: Baton, plan_id: str, tool: str) -> ActionView:
    matches = [a for a in baton.list_actions(plan_id=plan_id) if a.tool == tool]
    assert matches, f"no {tool} action in plan {plan_id}: " + ", ".join(
        f"{a.tool}={a.status}" for a in baton.list_actions(plan_id=plan_id)
    )
    return matches[-1]


def approve(
    baton: Baton, action: ActionView, *, actor: str = "admin", changes: dict[str, Any] | None = None
) -> ActionView:
    outcome = baton.decide(
        DecisionRequest(
            action_id=action.action_id,
            revision=action.revision,
            verdict="approve",
            changes=changes or {},
        ),
        actor=actor,
    )
    return outcome.action


def approve_all_pending(baton: Baton, plan_id: str, *, rounds: int = 10) -> None:
    """Approve every proposed action (and those it makes ready) until none is left."""
    for _ in range(rounds):
        pending = [a for a in baton.list_actions(plan_id=plan_id) if a.status == "proposed"]
        if not pending:
            return
        for action in pending:
            approve(baton, action)
    raise AssertionError("the plan kept proposing actions")
