"""Budget review: check pacing by channel and propose a reallocation."""

from __future__ import annotations

from typing import Any

from agents.planning.goal import Goal, StepDraft
from agents.playbooks.base import Playbook, rule
from agents.playbooks.steps import date_inputs, step


def _steps(playbook: Playbook, goal: Goal, review_text: str | None) -> list[StepDraft]:
    scope: dict[str, Any] = {"channels": list(goal.channels)} if goal.channels else {}
    reallocate: dict[str, Any] = {"mode": "reallocate", **scope}
    if goal.budget is not None:
        reallocate |= {"total": goal.budget, "currency": goal.currency}
    return [
        step(
            "pacing",
            "performance.budget_pacing",
            "Check budget pacing by channel",
            inputs={**scope, **date_inputs(goal)},
        ),
        step(
            "reallocate",
            "performance.allocate_budget",
            "Propose a reallocation within the policy bands",
            ["pacing"],
            reallocate,
        ),
    ]


BUDGET_REVIEW = Playbook(
    name="budget_review",
    description="review pacing, reallocate budget",
    kpi="ROAS",
    sends=False,
    template=_steps,
    # Budget questions beat general reporting ("how is my budget pacing").
    rules=(
        rule(
            30,
            r"\bbudget\s+(?:review|check|pacing|health|status|performance|allocation)\b"
            r"|\breallocat\w*|\brebalanc\w*|\bpacing\b|\b(?:over|under)[- ]?spen(?:d|t|ding)\b"
            r"|\bhow\s+(?:is|are|'s)\s+(?:my|our|the)\s+(?:\w+\s+)?(?:budget|spend)\b"
            r"|\b(?:move|shift)\s+(?:the\s+|some\s+|more\s+)?(?:budget|spend)\b"
            r"|\bis\s+(?:my|our|the)\s+(?:\w+\s+)?(?:budget|spend)\s+on\s+track\b"
            r"|\breview\s+(?:the\s+|my\s+|our\s+)?(?:\w+\s+)?(?:budget|spend)\b",
        ),
    ),
    objective="Check budget pacing and reallocate spend where it works best",
    channel_joiner="across",
)
