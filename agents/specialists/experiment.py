"""The experiment specialist: an A/B design the audience can actually power."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session

from agents.planning.goal import Goal
from agents.specialists.base import Evaluation, Param, Proposal, Skill, SkillContext
from db.models import Action
from tools.experiment import TestDesign, design_ab_test
from tools.performance import kpi_summary

BASELINE_LOOKBACK_DAYS = 90
RELATIVE_LIFT = 0.2


class TestParams(BaseModel):
    variants: int = Field(2, ge=2, le=5)
    baseline: float = Field(gt=0, lt=1)
    """Click rate of the control, from recent sends."""
    mde: float = Field(gt=0, lt=1)
    """Smallest absolute lift worth detecting."""
    alpha: float = Field(0.05, gt=0, lt=0.5)
    power: float = Field(0.8, gt=0.5, lt=1)


def _audience_size(ctx: SkillContext) -> int:
    return int((ctx.upstream_result("segment") or {}).get("size", 0))


def _evidence(ctx: SkillContext, p: TestParams) -> dict[str, Any]:
    design = design_ab_test(
        audience_size=_audience_size(ctx),
        baseline=p.baseline,
        mde=p.mde,
        variants=p.variants,
        alpha=p.alpha,
        power=p.power,
    )
    return {"audience_size": _audience_size(ctx), **design.model_dump()}


def _baseline(session: Session, goal: Goal, today: date) -> tuple[str, float]:
    """The test channel and its click rate over the lookback (2% when there is no history)."""
    kpis = kpi_summary(session, start=today - timedelta(days=BASELINE_LOOKBACK_DAYS), end=today)
    channel = next((c for c in goal.channels if c in ("email", "sms", "push")), "email")
    row = next((r for r in kpis.rows if r.channel == channel), None)
    return channel, min(max(float(row.ctr) if row and row.ctr else 0.02, 0.001), 0.5)


def default_params(session: Session, goal: Goal, today: date) -> TestParams:
    _, baseline = _baseline(session, goal, today)
    return TestParams(
        baseline=round(baseline, 4), mde=round(max(baseline * RELATIVE_LIFT, 0.001), 4)
    )


def design_for_plan(session: Session, goal: Goal, today: date, *, audience_size: int) -> TestDesign:
    """The design this specialist would propose for an audience (the ledger checks it early)."""
    p = default_params(session, goal, today)
    return design_ab_test(
        audience_size=audience_size, baseline=p.baseline, mde=p.mde, variants=p.variants
    )


def propose(ctx: SkillContext) -> Proposal:
    channel, baseline = _baseline(ctx.session, ctx.goal, ctx.today)
    params = default_params(ctx.session, ctx.goal, ctx.today)
    planned = ctx.step.inputs.get("mde")
    if planned is not None:  # a re-plan sized the test to the audience
        params = params.model_copy(update={"mde": float(planned)})
    evidence = _evidence(ctx, params)
    lift = (
        f"a {RELATIVE_LIFT:.0%} relative lift"
        if planned is None
        else "the smallest lift this audience can show"
    )
    rationale = (
        f"Baseline {channel} click rate {baseline:.2%} over the last "
        f"{BASELINE_LOOKBACK_DAYS} days; detecting {lift} "
        f"({params.mde:.2%} absolute) needs {evidence['sample_per_variant']:,} per "
        f"variant. {evidence['detail']}"
    )
    return Proposal(
        params=params.model_dump(),
        rationale=rationale,
        evidence=evidence,
        context={"channel": channel, "audience_size": _audience_size(ctx)},
    )


def evaluate(ctx: SkillContext, params: dict[str, Any], changed: frozenset[str]) -> Evaluation:
    p = TestParams.model_validate(params)
    return Evaluation(params=p.model_dump(), evidence=_evidence(ctx, p))


def execute(ctx: SkillContext, action: Action) -> dict[str, Any]:
    return {"designed": True, **_evidence(ctx, TestParams.model_validate(action.params))}


SKILL = Skill(
    agent="experiment",
    kind="design_test",
    risk="internal",
    params_model=TestParams,
    result_model=None,
    propose=propose,
    evaluate=evaluate,
    execute=execute,
    summary="A/B test design: variants and sample size",
    editable=("variants", "mde", "alpha", "power"),
    params={
        "mde": Param(label="minimum detectable lift", heading="Minimum detectable lift"),
        "alpha": Param(label="significance level", heading="Significance level (alpha)"),
        "power": Param(heading="Power"),
    },
    words=("test", "sample", "variant", "experiment"),
    summarise=lambda result: str(result.get("detail") or "Test designed."),
)
