"""Designing an A/B test the audience can power, its baseline taken from the last readout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session

from agents.planning.goal import Goal
from agents.specialists.base import Evaluation, Param, Proposal, Skill, SkillContext
from agents.specialists.experiment.readout import READ_OUT, ReadoutResult
from db.models import Action
from tools.ab_tests import ab_test_readout, finished_ab_tests
from tools.experiment import Readout, TestDesign, design_ab_test
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


class TestDesignResult(TestDesign):
    """The design as executed: the sample-size tool's answer, and where the baseline came from."""

    designed: bool = True
    baseline_from: str | None = None
    """The readout the baseline was taken from; None: the channel's recent click rate."""


@dataclass(frozen=True)
class Baseline:
    channel: str
    rate: float
    source: str | None
    """The readout it came from, in words; None for the channel's recent click rate."""


def _test_channel(goal: Goal) -> str:
    return next((c for c in goal.channels if c in ("email", "sms", "push")), "email")


def _last_test(session: Session, today: date, channel: str) -> tuple[str, Readout] | None:
    """The most recent finished test on the channel, read out for clicks."""
    test = next((t for t in finished_ab_tests(session, today=today) if t.channel == channel), None)
    if test is None:
        return None
    readout = ab_test_readout(
        session, campaign=test.campaign, channel=channel, metric="click", alpha=0.05
    )
    return test.campaign, readout


def _prior_test(ctx: SkillContext, channel: str) -> tuple[str, Readout] | None:
    """The plan's readout when it has one (any test it read, for clicks on this channel)."""
    action = next((a for a in ctx.upstream.values() if a.tool == READ_OUT.kind), None)
    if action is None:
        return _last_test(ctx.session, ctx.today, channel)
    done = ReadoutResult.model_validate(action.result or {})
    if done.readout is None or done.campaign is None:
        return None
    if done.channel != channel or done.metric != "click":
        return None
    return done.campaign, done.readout


def _from_readout(prior: tuple[str, Readout] | None) -> tuple[float, str] | None:
    """The next test's control rate from the last test: its winner's rate, or both variants
    pooled when none won (None without a usable readout)."""
    if prior is None:
        return None
    campaign, r = prior
    if r.winner is not None:
        label, rate = (r.label_b, r.rate_b) if r.winner == "B" else (r.label_a, r.rate_a)
        source = f"variant {label} of {campaign}, the winner"
    else:
        rate = (r.successes_a + r.successes_b) / (r.n_a + r.n_b)
        source = f"both variants of {campaign} (no winner)"
    return (rate, source) if 0.001 <= rate <= 0.5 else None


def _baseline(
    session: Session, goal: Goal, today: date, prior: tuple[str, Readout] | None
) -> Baseline:
    """The rate from the last test's readout, else the channel's click rate over the lookback
    (2% without history)."""
    channel = _test_channel(goal)
    found = _from_readout(prior)
    if found is not None:
        return Baseline(channel, *found)
    kpis = kpi_summary(session, start=today - timedelta(days=BASELINE_LOOKBACK_DAYS), end=today)
    row = next((r for r in kpis.rows if r.channel == channel), None)
    rate = min(max(float(row.ctr) if row and row.ctr else 0.02, 0.001), 0.5)
    return Baseline(channel, rate, None)


def _params(baseline: Baseline) -> TestParams:
    rate = round(baseline.rate, 4)
    return TestParams(baseline=rate, mde=round(max(rate * RELATIVE_LIFT, 0.001), 4))


def default_params(session: Session, goal: Goal, today: date) -> TestParams:
    """The design's parameters before any re-plan, from the last finished test if there is one."""
    prior = _last_test(session, today, _test_channel(goal))
    return _params(_baseline(session, goal, today, prior))


def design_for_plan(session: Session, goal: Goal, today: date, *, audience_size: int) -> TestDesign:
    """The design this specialist would propose for an audience (the ledger checks it early)."""
    p = default_params(session, goal, today)
    return design_ab_test(
        audience_size=audience_size, baseline=p.baseline, mde=p.mde, variants=p.variants
    )


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
    found = _from_readout(_prior_test(ctx, _test_channel(ctx.goal)))
    # The baseline is not editable, but the data may have changed since the proposal: name
    # the readout only while it still gives the proposed rate.
    same = found is not None and round(found[0], 4) == p.baseline
    taken = {"baseline_from": found[1]} if found is not None and same else {}
    return {"audience_size": _audience_size(ctx), **taken, **design.model_dump()}


def propose(ctx: SkillContext) -> Proposal:
    baseline = _baseline(
        ctx.session, ctx.goal, ctx.today, _prior_test(ctx, _test_channel(ctx.goal))
    )
    params = _params(baseline)
    planned = ctx.step.inputs.get("mde")
    if planned is not None:  # a re-plan sized the test to the audience
        params = params.model_copy(update={"mde": float(planned)})
    evidence = _evidence(ctx, params)
    lift = (
        f"a {RELATIVE_LIFT:.0%} relative lift"
        if planned is None
        else "the smallest lift this audience can show"
    )
    where = (
        f"from {baseline.source} (the next test's control)"
        if baseline.source
        else f"over the last {BASELINE_LOOKBACK_DAYS} days"
    )
    rationale = (
        f"Baseline {baseline.channel} click rate {baseline.rate:.2%} {where}; detecting "
        f"{lift} ({params.mde:.2%} absolute) needs {evidence['sample_per_variant']:,} per "
        f"variant. {evidence['detail']}"
    )
    return Proposal(
        params=params.model_dump(),
        rationale=rationale,
        evidence=evidence,
        context={"channel": baseline.channel, "audience_size": _audience_size(ctx)},
    )


def evaluate(ctx: SkillContext, params: dict[str, Any], changed: frozenset[str]) -> Evaluation:
    p = TestParams.model_validate(params)
    return Evaluation(params=p.model_dump(), evidence=_evidence(ctx, p))


def execute(ctx: SkillContext, action: Action) -> TestDesignResult:
    evidence = _evidence(ctx, TestParams.model_validate(action.params))
    return TestDesignResult(designed=True, **evidence)


SKILL = Skill(
    agent="experiment",
    kind="design_test",
    risk="internal",
    params_model=TestParams,
    result_model=TestDesignResult,
    propose=propose,
    evaluate=evaluate,
    execute=execute,
    summary="A/B test design: variants and sample size, the baseline from the last readout",
    editable=("variants", "mde", "alpha", "power"),
    params={
        "mde": Param(
            label="minimum detectable lift",
            heading="Minimum detectable lift",
            words=("mde", "detectable", "minimum", "smallest"),
        ),
        "alpha": Param(label="significance level", heading="Significance level (alpha)"),
        "power": Param(heading="Power"),
        "baseline": Param(
            label="baseline click rate",
            words=("baseline", "control"),
            evidence=("baseline_from", "baseline"),
        ),
    },
    words=("test", "sample", "variant", "experiment", "design"),
    labels={"baseline_from": "baseline taken from"},
    summarise=lambda result: str(result.get("detail") or "Test designed."),
)
