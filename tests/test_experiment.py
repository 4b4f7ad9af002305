"""Sample sizes and A/B/n designs against the textbook formula."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from tools.experiment import design_ab_test, sample_size_two_proportions


def textbook(p1: float, p2: float, alpha: float, power: float) -> int:
    z = NormalDist().inv_cdf
    p = (p1 + p2) / 2
    top = z(1 - alpha / 2) * math.sqrt(2 * p * (1 - p)) + z(power) * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    return math.ceil(top**2 / (p2 - p1) ** 2)


def test_known_sample_size() -> None:
    n = sample_size_two_proportions(baseline=0.10, mde=0.02, alpha=0.05, power=0.8)
    assert n == 3841
    assert n == textbook(0.10, 0.12, 0.05, 0.8)


@pytest.mark.parametrize(
    ("baseline", "mde", "alpha", "power"),
    [(0.02, 0.005, 0.05, 0.8), (0.25, 0.05, 0.01, 0.9), (0.5, 0.1, 0.1, 0.8)],
)
def test_matches_the_formula(baseline: float, mde: float, alpha: float, power: float) -> None:
    n = sample_size_two_proportions(baseline=baseline, mde=mde, alpha=alpha, power=power)
    assert n == textbook(baseline, baseline + mde, alpha, power)


def test_sample_size_moves_the_right_way() -> None:
    base = sample_size_two_proportions(baseline=0.1, mde=0.02)
    assert sample_size_two_proportions(baseline=0.1, mde=0.04) < base
    assert sample_size_two_proportions(baseline=0.1, mde=0.02, power=0.9) > base
    assert sample_size_two_proportions(baseline=0.1, mde=0.02, alpha=0.01) > base


@pytest.mark.parametrize(
    "kwargs",
    [
        {"baseline": 0.0, "mde": 0.02},
        {"baseline": 0.99, "mde": 0.02},
        {"baseline": 0.1, "mde": 0.0},
        {"baseline": 0.1, "mde": 0.02, "alpha": 1.0},
        {"baseline": 0.1, "mde": 0.02, "power": 0.0},
    ],
)
def test_rejects_impossible_inputs(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        sample_size_two_proportions(**kwargs)


def test_feasible_design_splits_and_holds_out_the_rest() -> None:
    design = design_ab_test(audience_size=10_000, baseline=0.10, mde=0.02)
    assert design.feasible
    assert (design.sample_per_variant, design.total_needed) == (3841, 7682)
    assert design.shares == {"A": 0.3841, "B": 0.3841}
    assert (design.holdout, design.holdout_share) == (2318, 0.2318)
    assert design.detectable_mde is None
    assert "3,841" in design.detail


def test_infeasible_design_says_what_it_can_detect() -> None:
    design = design_ab_test(audience_size=5_000, baseline=0.10, mde=0.02)
    assert not design.feasible
    assert design.shares == {"A": 0.5, "B": 0.5} and design.holdout == 0
    assert design.detectable_mde is not None and design.detectable_mde > 0.02
    assert sample_size_two_proportions(baseline=0.10, mde=design.detectable_mde) <= 2_500
    assert "5,000" in design.detail


def test_more_variants_split_alpha_across_comparisons() -> None:
    two = design_ab_test(audience_size=100_000, baseline=0.10, mde=0.02)
    three = design_ab_test(audience_size=100_000, baseline=0.10, mde=0.02, variants=3)
    assert three.alpha_per_comparison == 0.025
    assert three.sample_per_variant == textbook(0.10, 0.12, 0.025, 0.8)
    assert three.sample_per_variant > two.sample_per_variant
    assert list(three.shares) == ["A", "B", "C"]
    with pytest.raises(ValueError):
        design_ab_test(audience_size=100, baseline=0.1, mde=0.02, variants=1)
