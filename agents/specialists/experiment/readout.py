"""Reading out a finished A/B test: the lift, its interval, the winner, the next rotation."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field

from agents.specialists.base import Evaluation, Param, Proposal, Skill, SkillContext
from db.models import Action, Plan
from tools.ab_tests import AbTest, ab_test_readout, finished_ab_tests
from tools.experiment import Metric, Readout, thompson_allocation

ROTATION_FLOOR = 0.1
"""Share every variant keeps in the next rotation, so the rotation keeps learning."""
ROTATION_DRAWS = 5_000
WIN_WORDS = ("won", "win", "wins", "winner", "winning", "lift", "significant", "better")
"""Words of a question about a test's outcome ("who won?")."""


class ReadoutParams(BaseModel):
    campaign: str | None = None
    """The test read out; None when the workspace has no finished test."""
    channel: str = "email"
    metric: Metric = "click"
    """What counts as a success: a contact who opened, clicked or purchased."""
    alpha: float = Field(0.05, gt=0, lt=0.5)


class ReadoutResult(BaseModel):
    """A finished test read out, and the next rotation Thompson sampling proposes."""

    found: bool
    campaign: str | None
    channel: str
    metric: Metric
    readout: Readout | None
    winner: str | None
    """The winning variant's label; None when no variant is significantly better."""
    shares: dict[str, float]
    """The next rotation: variant label -> share of the traffic (sums to 1)."""
    seed: int | None
    """Seeds the Thompson draws; derived from the plan and the test, so a plan reproduces."""
    draws: int
    floor: float
    """Share every variant keeps at least."""
    detail: str


def _named_test(tests: list[AbTest], brief: str) -> AbTest | None:
    """The test a brief names: by campaign, or its theme before "test" ("the gift guide test")."""
    lowered = brief.lower()
    for test in tests:
        theme = re.sub(r"^(?:[a-z]+-)?\d{4}-\d{2}-\d{2}-", "", test.campaign.lower())
        words = r"[\s-]+".join(map(re.escape, theme.split("-")))
        if test.campaign.lower() in lowered or re.search(
            rf"\b{words}\s+(?:a\s*/\s*b\s+|split\s+)?(?:test|experiment)\b", lowered
        ):
            return test
    return None


def _seed(ctx: SkillContext, params: ReadoutParams) -> int:
    """From the plan (its goal and day) and the test read: the same plan, the same rotation."""
    basis = "|".join(
        (ctx.goal.model_dump_json(), ctx.today.isoformat(), str(params.campaign), params.channel)
    )
    return int.from_bytes(hashlib.sha256(f"{basis}|{params.metric}".encode()).digest()[:4], "big")


@lru_cache(maxsize=32)
def _rotation_shares(
    arms: tuple[tuple[str, int, int], ...], seed: int
) -> tuple[tuple[str, float], ...]:
    """Thompson shares of (label, successes, trials) arms; execution repeats the proposal's."""
    shares = thompson_allocation(
        arms={label: (s, n) for label, s, n in arms},
        draws=ROTATION_DRAWS,
        seed=seed,
        floor=ROTATION_FLOOR,
    )
    return tuple(shares.items())


def _read_out(ctx: SkillContext, params: ReadoutParams) -> ReadoutResult:
    result = ReadoutResult(
        found=False,
        campaign=None,
        channel=params.channel,
        metric=params.metric,
        readout=None,
        winner=None,
        shares={},
        seed=None,
        draws=ROTATION_DRAWS,
        floor=ROTATION_FLOOR,
        detail="No finished A/B test to read out yet: the next test is designed from the "
        "channel's recent click rate.",
    )
    if params.campaign is None:
        return result
    readout = ab_test_readout(
        ctx.session,
        campaign=params.campaign,
        channel=params.channel,
        metric=params.metric,
        alpha=params.alpha,
    )
    seed = _seed(ctx, params)
    arms = (
        (readout.label_a, readout.successes_a, readout.n_a),
        (readout.label_b, readout.successes_b, readout.n_b),
    )
    shares = dict(_rotation_shares(arms, seed))
    return result.model_copy(
        update={
            "found": True,
            "campaign": params.campaign,
            "readout": readout,
            "winner": {"A": readout.label_a, "B": readout.label_b, None: None}[readout.winner],
            "shares": shares,
            "seed": seed,
            "detail": readout.detail,
        }
    )


def _significance(p_value: float) -> str:
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"


def _readout_evidence(result: ReadoutResult, tests: list[AbTest]) -> dict[str, Any]:
    """Flat facts for the card: per-variant counts and rates, the verdict, the rotation."""
    r = result.readout
    if r is None:
        return {"finished_tests": 0, "detail": result.detail}
    a, b = r.label_a, r.label_b
    test = next((t for t in tests if t.campaign == result.campaign), None)
    evidence: dict[str, Any] = {
        "sends": {a: r.n_a, b: r.n_b},
        f"{result.metric}s": {a: r.successes_a, b: r.successes_b},
        f"{result.metric}_rate": {a: r.rate_a, b: r.rate_b},
        "winner": result.winner or "no winner yet",
        "relative_lift": r.relative_lift,
        "lift_ci": {"low": r.relative_ci_low, "high": r.relative_ci_high},
        "significance": _significance(r.p_value),
        "rotation_shares": result.shares,
        "confidence": round(1 - r.alpha, 6),
        "absolute_lift": r.absolute_lift,
        "absolute_lift_ci": {"low": r.ci_low, "high": r.ci_high},
        "first_send": test.first_send.isoformat() if test else None,
        "last_send": test.last_send.isoformat() if test else None,
        "finished_tests": len(tests),
        "rotation_seed": result.seed,
        "rotation_draws": result.draws,
        "min_rotation_share": result.floor,
    }
    return {k: v for k, v in evidence.items() if v is not None and v != {"low": None, "high": None}}


def _rotation(shares: dict[str, float]) -> str:
    ranked = sorted(shares.items(), key=lambda item: -item[1])
    return " / ".join(f"{label} {share:.0%}" for label, share in ranked)


def _rationale(result: ReadoutResult, evidence: dict[str, Any]) -> str:
    r = result.readout
    if r is None:
        return result.detail
    when = (
        f" (sent {evidence['first_send']} to {evidence['last_send']})"
        if "first_send" in evidence
        else ""
    )
    lift = (
        f"a lift of {r.relative_lift:.1%} ({1 - r.alpha:.0%} confidence interval "
        f"{r.relative_ci_low:.1%} to {r.relative_ci_high:.1%})"
        if r.relative_lift is not None and r.relative_ci_low is not None
        else f"a difference of {r.absolute_lift:.2%}"
    )
    verdict = (
        f"{result.winner} wins at alpha {r.alpha:g}"
        if result.winner
        else f"no winner yet at alpha {r.alpha:g}"
    )
    return (
        f"The A/B test {result.campaign} on {result.channel}{when}: {r.label_b} "
        f"{r.rate_b:.2%} of {r.n_b:,} sends got a {result.metric} against {r.label_a} "
        f"{r.rate_a:.2%} of {r.n_a:,}, {lift}, {_significance(r.p_value)}: {verdict}. "
        f"Thompson sampling ({result.draws:,} draws, seed {result.seed}, each variant kept "
        f"at {result.floor:.0%} at least) proposes the next rotation {_rotation(result.shares)}."
    )


def propose_readout(ctx: SkillContext) -> Proposal:
    tests = finished_ab_tests(ctx.session, today=ctx.today)
    plan = ctx.session.get(Plan, ctx.step.plan_id)
    test = _named_test(tests, plan.brief if plan else "") or (tests[0] if tests else None)
    params = (
        ReadoutParams(campaign=test.campaign, channel=test.channel) if test else ReadoutParams()
    )
    result = _read_out(ctx, params)
    evidence = _readout_evidence(result, tests)
    return Proposal(
        params=params.model_dump(mode="json"),
        rationale=_rationale(result, evidence),
        evidence=evidence,
        context={"today": ctx.today.isoformat(), "finished_tests": len(tests)},
    )


def evaluate_readout(
    ctx: SkillContext, params: dict[str, Any], changed: frozenset[str]
) -> Evaluation:
    p = ReadoutParams.model_validate(params)
    tests = finished_ab_tests(ctx.session, today=ctx.today)
    return Evaluation(
        params=p.model_dump(mode="json"), evidence=_readout_evidence(_read_out(ctx, p), tests)
    )


def execute_readout(ctx: SkillContext, action: Action) -> ReadoutResult:
    return _read_out(ctx, ReadoutParams.model_validate(action.params))


def summarise_readout(result: dict[str, Any]) -> str:
    """The readout in one sentence: the winner, the lift with its interval, the rotation."""
    done = ReadoutResult.model_validate(result)
    r = done.readout
    if r is None:
        return done.detail
    if r.relative_lift is not None and r.relative_ci_low is not None:
        assert r.relative_ci_high is not None
        lift = (
            f"{r.relative_lift:+.0%} {done.metric}s ({1 - r.alpha:.0%} CI "
            f"{r.relative_ci_low:+.0%} to {r.relative_ci_high:+.0%})"
        )
    else:
        lift = f"{r.absolute_lift:+.2%} {done.metric} rate"
    lead = (
        f"Variant {done.winner} wins"
        if done.winner
        else f"No winner yet, {r.label_b} vs {r.label_a}"
    )
    return f"{lead}: {lift}, {_significance(r.p_value)}; next rotation {_rotation(done.shares)}."


READ_OUT = Skill(
    agent="experiment",
    kind="read_out_test",
    risk="read",
    params_model=ReadoutParams,
    result_model=ReadoutResult,
    propose=propose_readout,
    evaluate=evaluate_readout,
    execute=execute_readout,
    summary="read out the last finished A/B test: lift, confidence interval, p-value, winner, "
    "and the next rotation by Thompson sampling",
    editable=("campaign", "metric", "alpha"),
    params={
        "campaign": Param(
            label="test read out",
            heading="Test read out",
            words=WIN_WORDS,
            evidence=(
                "winner",
                "relative_lift",
                "lift_ci",
                "confidence",
                "significance",
                "sends",
                *(f"{m}{end}" for m in ("click", "open", "purchase") for end in ("s", "_rate")),
                "rotation_shares",
            ),
        ),
        "alpha": Param(label="significance level", heading="Significance level (alpha)"),
    },
    words=(*WIN_WORDS, "readout", "result", "results", "significance", "rotation", "thompson"),
    labels={
        "relative_lift": "lift (relative to the control)",
        "lift_ci": "confidence interval of the lift",
        "rotation_shares": "next rotation",
        "confidence": "confidence level",
        "absolute_lift_ci": "confidence interval of the absolute lift",
        "finished_tests": "finished A/B tests in the workspace",
        "min_rotation_share": "least share per variant",
    },
    summarise=summarise_readout,
)
