"""A/B/n test design: sample sizes for conversion-rate tests and how to split an audience."""

from __future__ import annotations

import math
import string
from statistics import NormalDist

from pydantic import BaseModel


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
