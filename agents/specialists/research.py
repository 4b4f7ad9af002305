"""The research specialist: what moved, period over period, in the workspace's own data."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agents.specialists.base import Evaluation, Proposal, Skill, SkillContext
from db.models import Action
from tools.notes import search_notes
from tools.research import period_trends

NOTES_SHOWN = 3


class TrendParams(BaseModel):
    days: int = Field(28, ge=7, le=183)
    """Length of each of the two periods compared."""


def propose(ctx: SkillContext) -> Proposal:
    params = TrendParams()
    return Proposal(
        params=params.model_dump(),
        rationale=f"Compare the last {params.days} days with the {params.days} "
        f"before, by channel, and name the biggest movers.",
        context={"today": ctx.today.isoformat()},
    )


def evaluate(ctx: SkillContext, params: dict[str, Any], changed: frozenset[str]) -> Evaluation:
    return Evaluation(params=TrendParams.model_validate(params).model_dump())


def execute(ctx: SkillContext, action: Action) -> dict[str, Any]:
    params = TrendParams.model_validate(action.params)
    report = period_trends(ctx.session, today=ctx.today, days=params.days).model_dump(mode="json")
    # What the team already wrote down about this kind of work, most relevant first.
    words = " ".join(w for w in (ctx.goal.objective, ctx.goal.audience or "") if w)
    notes = search_notes(ctx.session, words, limit=NOTES_SHOWN)
    return {**report, "notes": [n.model_dump() for n in notes]}


def summarise(result: dict[str, Any]) -> str:
    movers = result.get("top_movers") or []
    notes = result.get("notes") or []
    if notes:
        titles = "; ".join(str(n.get("title")) for n in notes)
        movers = [*movers, {"sentence": f"related notes: {titles}"}]
    if not movers:
        return "Trends computed."
    return "Top movers: " + "; ".join(str(m.get("sentence", m)).rstrip(".") for m in movers) + "."


SKILL = Skill(
    agent="research",
    kind="period_trends",
    risk="read",
    params_model=TrendParams,
    result_model=None,
    propose=propose,
    evaluate=evaluate,
    execute=execute,
    summary="trends, anomalies and research notes for a period",
    editable=("days",),
    words=("trend", "trends", "movers", "change"),
    summarise=summarise,
)
