"""Scripts for the scripted LLM server: the planner's and the specialists' replies.

`planner_reply` writes, as the model would, the plan the offline planner makes for a brief,
so a test can check that both planners give the same plan through the same contract.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from agents.planning.offline import plan_offline
from tests.support.scripted_llm import FunctionReply, JSONReply, Reply, Text


def planner_reply(brief: str, *, today: date, **goal_changes: Any) -> dict[str, Any]:
    """The PlanReply JSON a model would send for this brief (the offline planner's plan)."""
    draft = plan_offline(brief, today=today)
    goal = draft.goal.model_dump(mode="json")
    goal.update(goal_changes)
    return {
        "goal": goal,
        "steps": [
            {
                "key": s.key,
                "tool": f"{s.agent}.{s.kind}",
                "title": s.title,
                "depends_on": s.depends_on,
                "instructions": None,
            }
            for s in draft.steps
        ],
    }


def plan(brief: str, *, today: date, **goal_changes: Any) -> JSONReply:
    return JSONReply(planner_reply(brief, today=today, **goal_changes))


def specialist(
    rationale: str = "The tool's proposal fits the goal and the policy.",
    changes: dict[str, Any] | None = None,
) -> JSONReply:
    """A specialist's answer: a rationale and optional parameter changes."""
    return JSONReply(
        {
            "rationale": rationale,
            "changes": [
                {"param": k, "value_json": json.dumps(v)} for k, v in (changes or {}).items()
            ],
        }
    )


def context_of(body: dict[str, Any]) -> dict[str, Any]:
    """The context slice a specialist request carried (its user message)."""
    user = next(m for m in body["messages"] if m["role"] == "user")
    return dict(json.loads(user["content"]))


def echo_specialist() -> FunctionReply:
    """A specialist that cites the first number of its evidence, so grounding is exercised."""

    def reply(body: dict[str, Any]) -> Reply:
        context = context_of(body)
        numbers = [v for v in context.get("evidence", {}).values() if isinstance(v, int | float)]
        text = (
            f"The evidence gives {numbers[0]:g}, which supports this proposal."
            if numbers and not isinstance(numbers[0], bool)
            else "The evidence supports this proposal."
        )
        return specialist(text)

    return FunctionReply(reply)


def narrative(text: str = "Here is the plan.") -> Text:
    return Text(text)
