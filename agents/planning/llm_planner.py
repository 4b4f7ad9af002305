"""The LLM planner: a model reads the brief and drafts the Goal and steps; code checks them.

The model sees the playbooks and a one-line summary of each specialist tool, never the
tools' parameter schemas or any workspace data. Its draft must name only known tools, keep
dependencies acyclic, stay within the step limit and put a compliance check before any
launch; a draft that does not gets one repair attempt (see agents/llm/structured.py).
Step inputs (segment rules, scopes, dates) are derived from the validated goal by the same
code the offline planner uses, so both planners hand specialists the same kind of inputs.
"""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import BaseModel, Field

from agents.markdown import label
from agents.planning.goal import AgentName, Goal, PlanDraft, PlaybookName, StepDraft
from agents.planning.money import DEFAULT_CURRENCY
from agents.planning.offline import extract_review_text
from agents.playbooks.registry import ALL_PLAYBOOKS, steps_for
from agents.playbooks.steps import STEP_TOOLS
from agents.specialists.registry import SKILLS
from db.vocabulary import Channel

if TYPE_CHECKING:
    StepTool = str
else:
    # The skill registry's kinds, as an enum in the reply's JSON schema: a model with
    # constrained decoding can name only a known step.
    StepTool = Literal[STEP_TOOLS]


class GoalReply(BaseModel):
    """The goal as the model writes it (strict-schema friendly: every field present)."""

    objective: str = Field(max_length=300)
    playbook: PlaybookName
    kpi: str | None
    budget: float | None
    currency: str | None
    channels: list[Channel]
    audience: str | None
    start: str | None
    """YYYY-MM-DD."""
    end: str | None
    recency_days: int | None


class StepReply(BaseModel):
    key: str = Field(max_length=40)
    tool: StepTool
    title: str = Field(max_length=120)
    depends_on: list[str]
    instructions: str | None
    """A short note for the specialist (tone, angle); never parameters."""


class PlanReply(BaseModel):
    goal: GoalReply
    steps: list[StepReply]


def system_prompt(*, today: date, max_steps: int) -> str:
    playbooks = "; ".join(f"{p.name}: {p.description}" for p in ALL_PLAYBOOKS)
    tools = "; ".join(f"{s.agent}.{s.kind}: {s.summary}" for s in SKILLS.values())
    return (
        "You are Baton's planner for a marketing team. Turn the brief into a goal and an "
        f"ordered plan of at most {max_steps} steps. Today is {today.isoformat()}.\n"
        f"Playbooks: {playbooks}.\nTools (agent.kind): {tools}.\n"
        "Rules: dates as YYYY-MM-DD (resolve relative dates from today); budget as a number "
        "with an ISO 4217 currency; channels only as named or clearly implied; recency_days "
        "only when the brief gives a lapse period; step keys short and unique; depends_on "
        "names earlier keys; a launch depends on the segment, the copy and a compliance "
        "check; invent no numbers. A campaign usually runs: segment, copy, schedule, budget "
        "(when there is a budget), compliance, launch."
    )


def check_plan(reply: PlanReply, *, today: date, max_steps: int) -> None:
    """Raise ValueError with one sentence when the draft is not a plan Baton can run."""
    if not reply.steps:
        raise ValueError("the plan has no steps")
    if len(reply.steps) > max_steps:
        raise ValueError(f"the plan has {len(reply.steps)} steps; at most {max_steps} allowed")
    goal = goal_from_reply(reply.goal, today=today)
    sends = {"distribution.launch_campaign", "channel.schedule_send"} & {
        s.tool for s in reply.steps
    }
    # A report or review looks back (start in the past is its point); a send cannot.
    if sends and goal.start is not None and goal.start < today:
        raise ValueError(
            f"goal.start {goal.start} is in the past (today is {today}), but the plan sends"
        )
    seen: dict[str, str] = {}
    for step in reply.steps:
        if step.key in seen:
            raise ValueError(f"step key '{step.key}' is used twice")
        for dep in step.depends_on:
            if dep not in seen:
                raise ValueError(f"step '{step.key}' depends on '{dep}', which is not earlier")
        seen[step.key] = step.tool
    for step in reply.steps:
        if step.tool != "distribution.launch_campaign":
            continue
        upstream = {seen[k] for k in _ancestors(reply, step.key)}
        for needed in (
            "audience.build_segment",
            "creative.draft_copy",
            "compliance.check_campaign",
        ):
            if needed not in upstream:
                raise ValueError(f"launch step '{step.key}' must depend on a {needed} step")


def _ancestors(reply: PlanReply, key: str) -> set[str]:
    by_key = {s.key: s for s in reply.steps}
    found: set[str] = set()
    pending = list(by_key[key].depends_on)
    while pending:
        dep = pending.pop()
        if dep not in found:
            found.add(dep)
            pending.extend(by_key[dep].depends_on)
    return found


def goal_from_reply(reply: GoalReply, *, today: date) -> Goal:
    """Validate the model's goal into Baton's Goal (ValueError with a sentence if it is not)."""
    data: dict[str, Any] = reply.model_dump()
    for name in ("start", "end"):
        if data[name]:
            try:
                data[name] = date.fromisoformat(data[name])
            except ValueError:
                raise ValueError(f"goal.{name} '{data[name]}' is not a YYYY-MM-DD date") from None
    if data["budget"] is not None and not data["currency"]:
        data["currency"] = DEFAULT_CURRENCY
    if data["currency"]:
        data["currency"] = str(data["currency"]).upper()
    if data["start"] and data["end"] and data["end"] < data["start"]:
        raise ValueError("goal.end is before goal.start")
    data["channels"] = list(dict.fromkeys(data["channels"]))
    return Goal.model_validate(data)


def draft_from_reply(reply: PlanReply, *, brief: str, today: date) -> PlanDraft:
    """Turn a checked reply into a PlanDraft, with step inputs derived from the goal."""
    goal = goal_from_reply(reply.goal, today=today)
    goal = goal.model_copy(update={"objective": label(goal.objective)})
    review_text = extract_review_text(brief) if goal.playbook == "content_review" else None
    try:
        template = {
            f"{s.agent}.{s.kind}": s.inputs for s in steps_for(goal, review_text=review_text)
        }
    except ValueError:
        template = {}
    scope: dict[str, Any] = {"channels": list(goal.channels)} if goal.channels else {}
    if goal.start:
        scope["start"] = goal.start.isoformat()
    if goal.end:
        scope["end"] = goal.end.isoformat()
    steps = []
    for s in reply.steps:
        agent, kind = s.tool.split(".")
        inputs = dict(template.get(s.tool, scope))
        if s.instructions:
            inputs["instructions"] = label(s.instructions)[:500]
        steps.append(
            StepDraft(
                key=s.key,
                agent=cast(AgentName, agent),
                kind=kind,
                title=label(s.title) or s.key,
                depends_on=list(s.depends_on),
                inputs=inputs,
            )
        )
    return PlanDraft(goal=goal, steps=steps, planner="llm")


def user_prompt(brief: str) -> str:
    return json.dumps({"brief": brief}, ensure_ascii=False)
