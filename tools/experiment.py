"""A/B/n tests: sample sizes, how to split an audience, readouts and bandit allocation."""

from __future__ import annotations

import math
import random
import string
from statistics import NormalDist
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import Session

from db.dialect import count_where_sql, unindexed


class TestDesign(BaseModel):
    """How many contacts each variant needs and whether the audience is big enough."""

    __test__ = False  # not a pytest test class, despite the name

    audience_size: int
    baseline: float
    mde: float
    """Smallest absolute lift worth detecting (0.02 = two percentage points)."""
    variants: int
    alpha: float
    alpha_per_comparison: float
    """alpha split across the comparisons with the control (Bonferroni)."""
    power: float
    sample_per_variant: int
    total_needed: int
    feasible: bool
    shares: dict[str, float]
    """Variant label (A = control) -> share of the audience."""
    holdout: int
    """Contacts outside the test cells; they get the winner after the readout."""
    holdout_share: float
    detectable_mde: float | None
    """The smallest lift this audience can detect, when the requested one is out of reach."""
    detail: str


def sample_size_two_proportions(
    *, baseline: float, mde: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Contacts per variant to detect baseline -> baseline + mde (two-sided, normal approx.).

    n = (z(1 - alpha/2) * sqrt(2 p (1 - p)) + z(power) * sqrt(p1 q1 + p2 q2))^2 / mde^2
    with p the mean of p1 and p2, rounded up.
    """
    _check_rates(baseline, mde, alpha, power)
    p1, p2 = baseline, baseline + mde
    pooled = (p1 + p2) / 2
    normal = NormalDist()
    z_alpha = normal.inv_cdf(1 - alpha / 2)
    z_power = normal.inv_cdf(power)
    root = z_alpha * math.sqrt(2 * pooled * (1 - pooled)) + z_power * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    return math.ceil(root**2 / mde**2)


def design_ab_test(
    *,
    audience_size: int,
    baseline: float,
    mde: float,
    variants: int = 2,
    alpha: float = 0.05,
    power: float = 0.8,
) -> TestDesign:
    """Size an A/B/n test for an audience; each variant is compared with the control (A)."""
    if audience_size < 0:
        raise ValueError("audience_size must not be negative")
    if not 2 <= variants <= len(string.ascii_uppercase):
        raise ValueError("variants must be between 2 and 26")
    _check_rates(baseline, mde, alpha, power)
    alpha_each = alpha / (variants - 1)
    per_variant = sample_size_two_proportions(
        baseline=baseline, mde=mde, alpha=alpha_each, power=power
    )
    total = per_variant * variants
    labels = string.ascii_uppercase[:variants]
    feasible = total <= audience_size
    if feasible:
        cell = per_variant
        detectable = None
    else:
        cell = audience_size // variants
        detectable = _detectable_mde(cell, baseline, alpha_each, power)
        if detectable is not None:
            # Round up: a rounded-down lift would need slightly more contacts than there are.
            detectable = math.ceil(detectable * 10_000) / 10_000
    holdout = audience_size - cell * variants
    share = cell / audience_size if audience_size else 0.0
    if feasible:
        detail = (
            f"{variants} variants of {per_variant:,} contacts each ({total:,} in all) detect a "
            f"{mde:.1%} lift on a {baseline:.1%} baseline; the other {holdout:,} get the winner."
        )
    else:
        reach = (
            f"this audience can only detect about {detectable:.1%}"
            if detectable is not None
            else "this audience is too small for any lift"
        )
        detail = (
            f"Detecting a {mde:.1%} lift on a {baseline:.1%} baseline needs {total:,} contacts "
            f"({per_variant:,} per variant) but the audience has {audience_size:,}; {reach}."
        )
    return TestDesign(
        audience_size=audience_size,
        baseline=baseline,
        mde=mde,
        variants=variants,
        alpha=alpha,
        alpha_per_comparison=round(alpha_each, 6),
        power=power,
        sample_per_variant=per_variant,
        total_needed=total,
        feasible=feasible,
        shares={label: round(share, 6) for label in labels},
        holdout=holdout,
        holdout_share=round(holdout / audience_size, 6) if audience_size else 0.0,
        detectable_mde=detectable,
        detail=detail,
    )


def _detectable_mde(per_variant: int, baseline: float, alpha: float, power: float) -> float | None:
    """Smallest absolute lift whose required sample fits in `per_variant` (bisection)."""
    ceiling = (1 - baseline) * 0.999
    if per_variant < 1 or _needed(baseline, ceiling, alpha, power) > per_variant:
        return None
    low, high = 0.0, ceiling
    for _ in range(60):
        middle = (low + high) / 2
        if middle > 0 and _needed(baseline, middle, alpha, power) <= per_variant:
            high = middle
        else:
            low = middle
    return high


def _needed(baseline: float, mde: float, alpha: float, power: float) -> int:
    return sample_size_two_proportions(baseline=baseline, mde=mde, alpha=alpha, power=power)


def _check_rates(baseline: float, mde: float, alpha: float, power: float) -> None:
    if not 0 < baseline < 1:
        raise ValueError("baseline must be between 0 and 1")
    if not 0 < mde < 1 - baseline:
        raise ValueError("mde must be positive and baseline + mde below 1")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError("alpha and power must be between 0 and 1")


# --- Readout ---------------------------------------------------------------------------

Metric = Literal["open", "click", "purchase"]


class Readout(BaseModel):
    """A two-variant comparison of conversion rates: lift, significance and the winner."""

    label_a: str = "A"
    """The control's name (variant readouts use the campaign's variant labels)."""
    label_b: str = "B"
    successes_a: int
    n_a: int
    successes_b: int
    n_b: int
    rate_a: float
    rate_b: float
    absolute_lift: float
    """rate_b - rate_a."""
    relative_lift: float | None
    """absolute_lift / rate_a; None when rate_a is 0."""
    z: float
    """Two-proportion z statistic with the pooled standard error."""
    p_value: float
    """Two-sided."""
    ci_low: float
    ci_high: float
    """Wald confidence interval (level 1 - alpha) of rate_b - rate_a, unpooled standard error."""
    relative_ci_low: float | None = None
    relative_ci_high: float | None = None
    """The interval relative to rate_a (as relative_lift is); None when rate_a is 0."""
    alpha: float
    significant: bool
    """p_value < alpha."""
    winner: Literal["A", "B"] | None
    detail: str


def readout_two_proportions(
    *, successes_a: int, n_a: int, successes_b: int, n_b: int, alpha: float = 0.05
) -> Readout:
    """Compare two conversion rates with a two-sided two-proportion z-test.

    p_a = s_a / n_a, p_b = s_b / n_b, pooled p = (s_a + s_b) / (n_a + n_b);
    z = (p_b - p_a) / sqrt(p (1 - p) (1/n_a + 1/n_b)); p-value = erfc(|z| / sqrt 2)
    (= 2 (1 - Phi(|z|))), and 1 when the pooled standard error is 0 (both rates 0 or 1).
    CI = (p_b - p_a) -/+ z(1 - alpha/2) sqrt(p_a (1 - p_a) / n_a + p_b (1 - p_b) / n_b).
    The winner is the higher rate when p-value < alpha, otherwise None.
    """
    return _readout(successes_a, n_a, successes_b, n_b, alpha, "A", "B")


def variant_readout(
    session: Session,
    *,
    campaign: str,
    channel: str = "email",
    metric: Metric = "click",
    alpha: float = 0.05,
) -> Readout:
    """Read out a campaign's two-variant test from its events (see readout_two_proportions).

    A variant's n is its send events on `channel`; a success is a distinct contact with a
    `metric` event on that channel for the campaign and variant. Variants sort by label,
    so the first (normally "A") is the control. Raises ValueError unless the campaign has
    exactly two labelled variants with sends.
    """
    if metric not in ("open", "click", "purchase"):
        raise ValueError("metric must be open, click or purchase")
    # No index leads to a campaign; `unindexed` keeps SQLite off the kind/time index, whose
    # row-by-row lookups are many times slower than one sequential scan of the table.
    sends = count_where_sql("event = 'send'")
    rows = (
        session.connection()
        .execute(
            text(
                f"SELECT variant, {sends} AS sends, "
                "count(DISTINCT CASE WHEN event = :metric THEN contact_id END) AS successes "
                f"FROM event WHERE {unindexed('event')} IN ('send', :metric) "
                "AND campaign = :campaign "
                "AND channel = :channel AND variant != '' GROUP BY variant ORDER BY variant"
            ),
            {"metric": metric, "campaign": campaign, "channel": channel},
        )
        .all()
    )
    sent = [row for row in rows if row.sends]
    if len(sent) != 2:
        found = ", ".join(row.variant for row in sent) or "none"
        raise ValueError(
            f"campaign {campaign!r} on {channel} needs exactly two variants with sends "
            f"(found {found})"
        )
    a, b = sent
    return _readout(a.successes, a.sends, b.successes, b.sends, alpha, a.variant, b.variant)


def _readout(
    s_a: int, n_a: int, s_b: int, n_b: int, alpha: float, label_a: str, label_b: str
) -> Readout:
    if n_a < 1 or n_b < 1:
        raise ValueError("each variant needs at least one contact")
    if not 0 <= s_a <= n_a or not 0 <= s_b <= n_b:
        raise ValueError("successes must be between 0 and the variant's size")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    rate_a, rate_b = s_a / n_a, s_b / n_b
    diff = rate_b - rate_a
    pooled = (s_a + s_b) / (n_a + n_b)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    z = diff / se_pooled if se_pooled > 0 else 0.0
    p_value = math.erfc(abs(z) / math.sqrt(2)) if se_pooled > 0 else 1.0
    se = math.sqrt(rate_a * (1 - rate_a) / n_a + rate_b * (1 - rate_b) / n_b)
    margin = NormalDist().inv_cdf(1 - alpha / 2) * se
    significant = p_value < alpha
    winner: Literal["A", "B"] | None = None
    if significant and diff != 0:
        winner = "B" if diff > 0 else "A"
    relative = diff / rate_a if rate_a else None
    lift = f"{diff * 100:+.2f} points" + (f" ({relative:+.1%})" if relative is not None else "")
    if winner is None:
        verdict = f"no significant difference at alpha {alpha:g}"
    else:
        verdict = f"{label_b if winner == 'B' else label_a} wins"
    detail = (
        f"{label_a} {rate_a:.2%} ({s_a:,}/{n_a:,}) vs {label_b} {rate_b:.2%} ({s_b:,}/{n_b:,}): "
        f"{lift}, p = {p_value:.4f}, {1 - alpha:.0%} CI {(diff - margin) * 100:+.2f} to "
        f"{(diff + margin) * 100:+.2f} points; {verdict}."
    )
    return Readout(
        label_a=label_a,
        label_b=label_b,
        successes_a=s_a,
        n_a=n_a,
        successes_b=s_b,
        n_b=n_b,
        rate_a=rate_a,
        rate_b=rate_b,
        absolute_lift=diff,
        relative_lift=relative,
        z=z,
        p_value=p_value,
        ci_low=diff - margin,
        ci_high=diff + margin,
        relative_ci_low=(diff - margin) / rate_a if rate_a else None,
        relative_ci_high=(diff + margin) / rate_a if rate_a else None,
        alpha=alpha,
        significant=significant,
        winner=winner,
        detail=detail,
    )


def thompson_allocation(
    *, arms: dict[str, tuple[int, int]], draws: int = 10_000, seed: int, floor: float = 0.0
) -> dict[str, float]:
    """Share of traffic per arm by Thompson sampling: how often each arm's draw is the best.

    Each arm (successes s, trials n) has the posterior Beta(1 + s, 1 + n - s) of a uniform
    prior; every round draws once from each posterior (arms in name order, from
    random.Random(seed)) and the highest draw wins (ties go to the first name). The share
    is wins / draws, so the same seed gives the same shares and they sum to 1. With a
    `floor`, every arm keeps that share and the rest is split by wins:
    floor + (1 - arms * floor) * wins / draws.
    """
    if not arms:
        raise ValueError("arms must not be empty")
    if draws < 1:
        raise ValueError("draws must be at least 1")
    if not 0 <= floor * len(arms) <= 1:
        raise ValueError("floor must be between 0 and 1 / the number of arms")
    for name, (successes, trials) in arms.items():
        if trials < 0 or not 0 <= successes <= trials:
            raise ValueError(f"arm {name!r}: successes must be between 0 and trials")
    rng = random.Random(seed)
    names = sorted(arms)
    shapes = [(1 + arms[name][0], 1 + arms[name][1] - arms[name][0]) for name in names]
    wins = dict.fromkeys(names, 0)
    for _ in range(draws):
        best_name, best = names[0], -1.0
        for name, (a, b) in zip(names, shapes, strict=True):
            sample = rng.betavariate(a, b)
            if sample > best:
                best_name, best = name, sample
        wins[best_name] += 1
    spread = 1 - floor * len(arms)
    return {name: floor + spread * wins[name] / draws for name in arms}
