"""Sample sizes, A/B/n designs, readouts and Thompson shares against formulas worked by hand."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from statistics import NormalDist
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from db.engine import read_session, write_session
from db.workspace_models import Event
from tests.support.workspace import NOW, add_contact, new_engine, workspace_writer
from tools.ab_tests import SETTLE_DAYS, ab_test_readout, finished_ab_tests
from tools.experiment import (
    Readout,
    design_ab_test,
    readout_two_proportions,
    sample_size_two_proportions,
    thompson_allocation,
    variant_readout,
)


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


# --- Readout ---------------------------------------------------------------------------


def test_readout_by_hand() -> None:
    # 200/2000 = 10% vs 260/2000 = 13%; pooled 460/4000 = 11.5%.
    se_pooled = math.sqrt(0.115 * 0.885 * (1 / 2000 + 1 / 2000))
    z = 0.03 / se_pooled
    p_value = 2 * (1 - NormalDist().cdf(z))
    se = math.sqrt(0.10 * 0.90 / 2000 + 0.13 * 0.87 / 2000)
    readout = readout_two_proportions(successes_a=200, n_a=2000, successes_b=260, n_b=2000)
    assert (readout.rate_a, readout.rate_b) == (0.10, 0.13)
    assert readout.absolute_lift == pytest.approx(0.03)
    assert readout.relative_lift == pytest.approx(0.30)
    assert readout.z == pytest.approx(z) and readout.z == pytest.approx(2.9737, abs=1e-4)
    assert readout.p_value == pytest.approx(p_value, rel=1e-6)
    assert readout.p_value == pytest.approx(0.00294, abs=1e-5)
    assert readout.ci_low == pytest.approx(0.03 - 1.959964 * se, abs=1e-6)
    assert readout.ci_high == pytest.approx(0.03 + 1.959964 * se, abs=1e-6)
    assert readout.significant and readout.winner == "B"
    assert "B wins" in readout.detail and "+3.00 points (+30.0%)" in readout.detail
    # The interval relative to A's rate, as the relative lift is.
    assert readout.relative_ci_low == pytest.approx(readout.ci_low / 0.10)
    assert readout.relative_ci_high == pytest.approx(readout.ci_high / 0.10)


def test_readout_without_a_winner() -> None:
    close = readout_two_proportions(successes_a=100, n_a=1000, successes_b=110, n_b=1000)
    assert close.p_value > 0.05 and not close.significant and close.winner is None
    assert close.ci_low < 0 < close.ci_high
    flat = readout_two_proportions(successes_a=0, n_a=50, successes_b=0, n_b=80)
    assert (flat.z, flat.p_value, flat.relative_lift, flat.winner) == (0.0, 1.0, None, None)
    assert (flat.relative_ci_low, flat.relative_ci_high) == (None, None)
    worse = readout_two_proportions(successes_a=300, n_a=2000, successes_b=200, n_b=2000)
    assert worse.winner == "A" and worse.absolute_lift < 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"successes_a": 1, "n_a": 0, "successes_b": 1, "n_b": 10},
        {"successes_a": 11, "n_a": 10, "successes_b": 1, "n_b": 10},
        {"successes_a": -1, "n_a": 10, "successes_b": 1, "n_b": 10},
        {"successes_a": 1, "n_a": 10, "successes_b": 1, "n_b": 10, "alpha": 0.0},
    ],
)
def test_readout_rejects_impossible_counts(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        readout_two_proportions(**kwargs)


@st.composite
def two_variants(draw: st.DrawFn) -> tuple[int, int, int, int]:
    n_a = draw(st.integers(min_value=1, max_value=100_000))
    n_b = draw(st.integers(min_value=1, max_value=100_000))
    return (
        draw(st.integers(min_value=0, max_value=n_a)),
        n_a,
        draw(st.integers(min_value=0, max_value=n_b)),
        n_b,
    )


@settings(max_examples=200, deadline=None)
@given(two_variants())
def test_readout_p_value_is_a_probability_and_symmetric(counts: tuple[int, int, int, int]) -> None:
    s_a, n_a, s_b, n_b = counts
    ab = readout_two_proportions(successes_a=s_a, n_a=n_a, successes_b=s_b, n_b=n_b)
    ba = readout_two_proportions(successes_a=s_b, n_a=n_b, successes_b=s_a, n_b=n_a)
    assert 0.0 <= ab.p_value <= 1.0
    assert ab.p_value == ba.p_value and ab.z == -ba.z
    assert ab.ci_low <= ab.absolute_lift <= ab.ci_high
    assert (ab.ci_low, ab.ci_high) == pytest.approx((-ba.ci_high, -ba.ci_low))
    swapped = {"A": "B", "B": "A", None: None}
    assert ba.winner == swapped[ab.winner]


def add_variant_event(
    session: Session, contact_id: int, event: str, variant: str, **fields: Any
) -> None:
    values: dict[str, Any] = {
        "channel": "email",
        "campaign": "spring",
        "occurred_at": NOW - timedelta(days=3),
    }
    values.update(fields)
    session.add(Event(contact_id=contact_id, event=event, variant=variant, **values))


@pytest.fixture
def ab_campaign(tmp_path: Path) -> Iterator[Session]:
    """Campaign "spring": A sent to 10 (2 clickers), B sent to 10 (5 clickers), plus noise."""
    engine = new_engine(tmp_path)
    with write_session(engine) as s:
        people = [add_contact(s) for _ in range(20)]
        for n, contact in enumerate(people):
            variant = "A" if n < 10 else "B"
            add_variant_event(s, contact, "send", variant)
            add_variant_event(s, contact, "open", variant)
        for contact in people[:2]:
            add_variant_event(s, contact, "click", "A")
        add_variant_event(s, people[0], "click", "A")  # the same contact twice: one success
        for contact in people[10:15]:
            add_variant_event(s, contact, "click", "B")
        add_variant_event(s, people[15], "click", "B", campaign="autumn")
        add_variant_event(s, people[16], "click", "B", channel="sms")
        add_variant_event(s, people[17], "send", "")  # a send outside the test
        add_variant_event(s, people[3], "purchase", "A")
    with read_session(engine) as session:
        yield session
    engine.dispose()


def test_variant_readout_counts_distinct_contacts(ab_campaign: Session) -> None:
    readout = variant_readout(ab_campaign, campaign="spring")
    expected = readout_two_proportions(successes_a=2, n_a=10, successes_b=5, n_b=10)
    assert readout.model_dump(exclude={"detail"}) == expected.model_dump(exclude={"detail"})
    opens = variant_readout(ab_campaign, campaign="spring", metric="open")
    assert (opens.successes_a, opens.successes_b) == (10, 10)
    purchases = variant_readout(ab_campaign, campaign="spring", metric="purchase")
    assert (purchases.successes_a, purchases.successes_b) == (1, 0)


def test_variant_readout_needs_two_variants(ab_campaign: Session) -> None:
    with pytest.raises(ValueError, match="found none"):
        variant_readout(ab_campaign, campaign="autumn")
    with pytest.raises(ValueError, match="metric"):
        variant_readout(ab_campaign, campaign="spring", metric="send")  # type: ignore[arg-type]


def test_finished_tests_are_found_in_the_rollup_once_settled(ab_campaign: Session) -> None:
    sent = (NOW - timedelta(days=3)).date()
    assert finished_ab_tests(ab_campaign, today=sent + timedelta(days=SETTLE_DAYS - 1)) == []
    (test,) = finished_ab_tests(ab_campaign, today=sent + timedelta(days=SETTLE_DAYS))
    # "autumn" and the SMS click have no sends: they are not tests.
    assert (test.campaign, test.channel, test.variants) == ("spring", "email", ["A", "B"])
    assert (test.first_send, test.last_send, test.sends) == (sent, sent, 20)


def test_a_test_readout_is_kept_until_the_workspace_changes(tmp_path: Path) -> None:
    engine = new_engine(tmp_path)
    with workspace_writer(engine) as s:
        people = [add_contact(s) for _ in range(4)]
        for n, contact in enumerate(people):
            add_variant_event(s, contact, "send", "AB"[n % 2])
        add_variant_event(s, people[1], "click", "B")

    def read(session: Session) -> Readout:
        return ab_test_readout(
            session, campaign="spring", channel="email", metric="click", alpha=0.05
        )

    with read_session(engine) as session:
        first = read(session)
        assert first == variant_readout(session, campaign="spring")
        first.n_a = 0  # the caller's copy: the kept readout is not changed
        assert read(session).n_a == 2
    with write_session(engine) as s:  # a write that does not bump the version
        add_variant_event(s, people[0], "click", "A")
    with read_session(engine) as session:
        assert read(session).successes_a == 0
    with workspace_writer(engine):
        pass
    with read_session(engine) as session:
        assert read(session) == variant_readout(session, campaign="spring")
        assert read(session).successes_a == 1
    engine.dispose()


# --- Thompson sampling -----------------------------------------------------------------


def test_thompson_matches_the_closed_form() -> None:
    # Beta(1, 2) against Beta(2, 1): P(B > A) = ∫ 2(1 - x) (1 - x²) dx = 5/6.
    shares = thompson_allocation(arms={"A": (0, 1), "B": (1, 1)}, draws=20_000, seed=3)
    assert shares["B"] == pytest.approx(5 / 6, abs=0.015)
    assert shares == thompson_allocation(arms={"B": (1, 1), "A": (0, 1)}, draws=20_000, seed=3)
    assert list(shares) == ["A", "B"]


def test_thompson_favours_the_clear_winner_and_is_deterministic() -> None:
    arms = {"A": (200, 2000), "B": (260, 2000), "C": (150, 2000)}
    shares = thompson_allocation(arms=arms, seed=11)
    assert shares == thompson_allocation(arms=arms, seed=11)
    assert shares["B"] > 0.99 and shares["C"] == 0.0
    with pytest.raises(ValueError):
        thompson_allocation(arms={}, seed=1)
    with pytest.raises(ValueError):
        thompson_allocation(arms={"A": (3, 2)}, seed=1)
    with pytest.raises(ValueError):
        thompson_allocation(arms={"A": (1, 2)}, draws=0, seed=1)


def test_thompson_floor_keeps_every_arm_in_the_rotation() -> None:
    arms = {"A": (200, 2000), "B": (260, 2000)}
    plain = thompson_allocation(arms=arms, seed=11)
    shares = thompson_allocation(arms=arms, seed=11, floor=0.1)
    assert shares["B"] == pytest.approx(0.1 + 0.8 * plain["B"])
    assert shares["A"] >= 0.1 and math.fsum(shares.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        thompson_allocation(arms=arms, seed=11, floor=0.6)


@settings(max_examples=30, deadline=None)
@given(
    st.dictionaries(
        st.text(alphabet="ABCDEFG", min_size=1, max_size=2),
        st.integers(min_value=0, max_value=500).flatmap(
            lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
        ),
        min_size=1,
        max_size=5,
    ),
    st.integers(min_value=0, max_value=2**32),
)
def test_thompson_shares_are_a_distribution(arms: dict[str, tuple[int, int]], seed: int) -> None:
    shares = thompson_allocation(arms=arms, draws=200, seed=seed)
    assert set(shares) == set(arms)
    assert all(0.0 <= share <= 1.0 for share in shares.values())
    assert math.fsum(shares.values()) == pytest.approx(1.0)
