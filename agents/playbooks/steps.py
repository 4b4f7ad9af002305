"""Step building blocks shared by the playbooks: the step tools, one step, its date inputs."""

from __future__ import annotations

from typing import Any, cast

from agents.planning.goal import AgentName, Goal, StepDraft
from agents.specialists.registry import step_kinds

STEP_TOOLS: tuple[str, ...] = step_kinds()
"""Every step's tool as "agent.kind"; a step's `agent` and `kind` are the two halves."""


def step(
    key: str,
    tool: str,
    title: str,
    depends_on: list[str] | None = None,
    inputs: dict[str, Any] | None = None,
) -> StepDraft:
    """One step running `tool` ("agent.kind"), after the steps named in `depends_on`."""
    if tool not in STEP_TOOLS:
        raise ValueError(f"Unknown step tool {tool!r}.")
    agent, kind = tool.split(".")
    return StepDraft(
        key=key,
        agent=cast(AgentName, agent),
        kind=kind,
        title=title,
        depends_on=depends_on or [],
        inputs=inputs or {},
    )


def date_inputs(goal: Goal) -> dict[str, Any]:
    """The goal's start and end as step inputs (ISO dates), where it has them."""
    found: dict[str, Any] = {}
    if goal.start:
        found["start"] = goal.start.isoformat()
    if goal.end:
        found["end"] = goal.end.isoformat()
    return found
