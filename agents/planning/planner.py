"""The planner a brief gets: the model when one is configured, offline otherwise or on failure."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from agents.llm.client import ModelError
from agents.planning import llm_planner
from agents.planning.goal import PlanDraft
from agents.planning.offline import plan_offline

if TYPE_CHECKING:
    from agents.llm.client import Meter
    from agents.llm.runtime import ModelRuntime
    from db.settings import LLMConfig


def draft_plan(
    brief: str,
    *,
    today: date,
    runtime: ModelRuntime | None,
    config: LLMConfig,
    meter: Meter,
) -> tuple[PlanDraft, list[str]]:
    """Plan with the model if one is configured; offline otherwise, or when the model fails.

    Returns the draft and the notices to put on the plan (why it was planned offline).
    """
    if runtime is None:
        return plan_offline(brief, today=today), []
    try:
        reply = runtime.run(
            runtime.asker.ask(
                agent="planner",
                system=llm_planner.system_prompt(today=today, max_steps=config.max_steps),
                user=llm_planner.user_prompt(brief),
                schema=llm_planner.PlanReply,
                meter=meter,
                check=lambda r: llm_planner.check_plan(r, today=today, max_steps=config.max_steps),
            )
        )
        return llm_planner.draft_from_reply(reply, brief=brief, today=today), []
    except ModelError as exc:
        notice = f"The LLM planner failed: {exc} Baton planned this brief offline instead."
        return plan_offline(brief, today=today), [notice]
