"""KPIs, pacing and allocation, checked against numbers worked out by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from db.engine import read_session
from tests.support.workspace import add_contact, add_event, add_spend, new_engine, workspace_writer
from tools.performance import (
    PacingResult,
    allocate_budget,
    budget_pacing,
    channel_cost_per_conversion,
    kpi_summary,
)

START, END = date(2026, 11, 1), date(2026, 11, 7)


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def week(tmp_path: Path) -> Iterator[Session]:
    """One week of email, SMS and search activity, plus rows just outside the week."""
    engine = new_engine(tmp_path)
    with workspace_writer(engine) as s:
        a, b = add_contact(s), add_contact(s, sms_consent=True)
        for contact in (a, b):
            add_event(s, contact, "send", at(2))
            add_event(s, contact, "send", at(5), campaign="c2")
        add_event(s, a, "open", at(2, 13))
        add_event(s, b, "open", at(5, 13), campaign="c2")
        add_event(s, a, "click", at(2, 14))
        add_event(s, a, "purchase", at(2, 15), revenue=50.0)
        add_event(s, b, "send", at(3), channel="sms", campaign="s1")
        add_event(s, a, "send", at(3), channel="sms", campaign="s1")
        add_event(s, b, "click", at(3, 12, 5), channel="sms", campaign="s1")
        add_event(s, b, "purchase", at(3, 13), channel="sms", campaign="s1", revenue=30.0)
        add_event(s, a, "purchase", at(4), channel="search", campaign="", revenue=40.0)
        add_event(s, b, "purchase", at(7, 23, 59, 59), channel="search", revenue=60.0)
        # Just outside the week on either side.
        add_event(s, a, "purchase", datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC), revenue=99.0)
        add_event(s, a, "purchase", at(8, 0), revenue=99.0)
        add_spend(s, date(2026, 11, 1), "email", 4.0)
        add_spend(s, date(2026, 11, 7), "email", 6.0)
        add_spend(s, date(2026, 11, 3), "sms", 20.0)
        add_spend(s, date(2026, 11, 4), "search", 50.0)
        add_spend(s, date(2026, 11, 4), "display", 5.0)
        add_spend(s, date(2026, 11, 8), "search", 500.0)
    with read_session(engine) as session:
        yield session
    engine.dispose()


def test_kpi_summary_matches_hand_computed_numbers(week: Session) -> None:
    summary = kpi_summary(week, start=START, end=END)
    rows = {row.channel: row for row in summary.rows}
    assert [row.channel for row in summary.rows] == ["email", "sms", "search", "display"]

    email = rows["email"]
    assert (email.sends, email.opens, email.clicks, email.conversions) == (4, 2, 1, 1)
    assert (email.revenue, email.spend) == (50.0, 10.0)
    assert (email.open_rate, email.ctr, email.conversion_rate) == (0.5, 0.25, 0.25)
    assert (email.cpa, email.roas) == (10.0, 5.0)

    sms = rows["sms"]
    assert (sms.sends, sms.opens, sms.clicks, sms.conversions, sms.revenue) == (2, 0, 1, 1, 30.0)
    assert (sms.open_rate, sms.ctr, sms.cpa, sms.roas) == (0.0, 0.5, 20.0, 1.5)

    search = rows["search"]
    assert (search.sends, search.conversions, search.revenue, search.spend) == (0, 2, 100.0, 50.0)
    assert search.open_rate is None and search.ctr is None and search.conversion_rate is None
    assert (search.cpa, search.roas) == (25.0, 2.0)

    display = rows["display"]
    assert (display.conversions, display.spend, display.cpa, display.roas) == (0, 5.0, None, 0.0)

    total = summary.totals
    assert total.channel == "total"
    assert (total.sends, total.opens, total.clicks, total.conversions) == (6, 2, 2, 4)
    assert (total.revenue, total.spend, total.cpa) == (180.0, 85.0, 21.25)
    assert total.roas == pytest.approx(180 / 85, abs=1e-4)
    assert total.open_rate == pytest.approx(2 / 6, abs=1e-4)


def test_cost_per_conversion_is_none_without_conversions(week: Session) -> None:
    costs = channel_cost_per_conversion(
        week, channels=["email", "sms", "search", "display", "social"], start=START, end=END
    )
    assert costs == {"email": 10.0, "sms": 20.0, "search": 25.0, "display": None, "social": None}


@pytest.fixture
def month(tmp_path: Path) -> Iterator[Session]:
    """A month-long budget: 100 a day on search and 20 on social so far, and a big today."""
    engine = new_engine(tmp_path)
    with workspace_writer(engine) as s:
        for day in range(1, 11):
            add_spend(s, date(2026, 11, day), "search", 100.0)
            add_spend(s, date(2026, 11, day), "social", 20.0)
        add_spend(s, date(2026, 11, 11), "search", 900.0)  # today: still coming in, not counted
        add_spend(s, date(2026, 10, 31), "search", 900.0)  # before the window
    with read_session(engine) as session:
        yield session
    engine.dispose()


def pace(session: Session, budget: float, channels: list[str] | None = None) -> PacingResult:
    """Pacing for November with today the 11th: ten whole days have passed."""
    return budget_pacing(
        session,
        budget=budget,
        start=date(2026, 11, 1),
        end=date(2026, 11, 30),
        today=date(2026, 11, 11),
        channels=channels,
    )


def test_budget_pacing_linear_path(month: Session) -> None:
    over = pace(month, 3000.0)
    assert (over.days_elapsed, over.days_total) == (10, 30)
    assert (over.spent, over.expected) == (1200.0, 1000.0)
    assert over.pace_ratio == 1.2 and over.status == "over"
    assert over.projected == 3600.0 and over.remaining == 1800.0
    assert over.by_channel == {"search": 1000.0, "social": 200.0}

    on_track = pace(month, 3600.0)
    assert on_track.status == "on_track"
    under = pace(month, 3000.0, ["social", "email"])
    assert under.spent == 200.0 and under.status == "under"
    assert under.by_channel == {"social": 200.0, "email": 0.0}


def test_budget_pacing_before_the_window(month: Session) -> None:
    result = budget_pacing(
        month,
        budget=1000.0,
        start=date(2026, 12, 1),
        end=date(2026, 12, 31),
        today=date(2026, 11, 11),
        channels=None,
    )
    assert (result.days_elapsed, result.spent, result.expected) == (0, 0.0, 0.0)
    assert result.pace_ratio is None and result.status == "on_track"


def test_allocate_budget_by_inverse_cost_with_median_fill() -> None:
    result = allocate_budget(
        budget=1000.0,
        channels=["email", "sms", "search"],
        cost_per_conversion={"email": 10.0, "sms": 20.0, "search": None},
        bands={},
    )
    # Weights 1/10, 1/20 and 1/15 (the median of the known costs).
    assert result.basis == {"email": 10.0, "sms": 20.0, "search": 15.0}
    assert result.allocations == {"email": 461.54, "sms": 230.77, "search": 307.69}
    assert sum(result.allocations.values()) == pytest.approx(1000.0, abs=1e-9)


def test_allocate_budget_water_fills_around_a_band() -> None:
    result = allocate_budget(
        budget=1000.0,
        channels=["email", "sms", "search"],
        cost_per_conversion={"email": 10.0, "sms": 20.0, "search": 15.0},
        bands={"email": (0.0, 0.4), "sms": (0.3, 1.0)},
    )
    # Email is held at 40% and SMS lifted to 30%; search takes the remaining 30%.
    assert result.allocations == {"email": 400.0, "sms": 300.0, "search": 300.0}
    loose = allocate_budget(
        budget=1000.0,
        channels=["email", "sms", "search"],
        cost_per_conversion={"email": 10.0, "sms": 20.0, "search": 15.0},
        bands={"email": (0.0, 0.4), "sms": (0.25, 1.0)},
    )
    # Email's excess 6.15 points flow to SMS and search in proportion to their weights,
    # which lifts SMS past its 25% floor: 0.6 * (1/20) / (1/20 + 1/15) = 25.71%.
    assert loose.allocations == {"email": 400.0, "sms": 257.14, "search": 342.86}


def test_allocate_budget_rejects_impossible_bands() -> None:
    with pytest.raises(ValueError, match="minimum shares"):
        allocate_budget(
            budget=100.0,
            channels=["a", "b"],
            cost_per_conversion={},
            bands={"a": (0.6, 1.0), "b": (0.6, 1.0)},
        )
    with pytest.raises(ValueError, match="maximum shares"):
        allocate_budget(
            budget=100.0,
            channels=["a", "b"],
            cost_per_conversion={},
            bands={"a": (0.0, 0.3), "b": (0.0, 0.3)},
        )


@st.composite
def allocation_inputs(draw: st.DrawFn) -> tuple[float, list[str], dict, dict]:
    count = draw(st.integers(min_value=1, max_value=6))
    channels = [f"ch{i}" for i in range(count)]
    costs = {
        c: draw(st.one_of(st.none(), st.floats(min_value=0.01, max_value=500.0))) for c in channels
    }
    bands = {}
    for c in channels:
        low = draw(st.floats(min_value=0.0, max_value=1.0 / count))
        high = draw(st.floats(min_value=low, max_value=1.0))
        bands[c] = (low, high)
    assume(sum(h for _, h in bands.values()) >= 1.0)
    cents = draw(st.integers(min_value=0, max_value=100_000_000))
    return cents / 100, channels, costs, bands


@settings(max_examples=300, deadline=None)
@given(allocation_inputs())
def test_allocations_sum_to_the_budget_and_respect_bands(
    inputs: tuple[float, list[str], dict, dict],
) -> None:
    budget, channels, costs, bands = inputs
    result = allocate_budget(
        budget=budget, channels=channels, cost_per_conversion=costs, bands=bands
    )
    assert round(sum(result.allocations.values()), 2) == round(budget, 2)
    assert sum(result.shares.values()) == pytest.approx(1.0, abs=1e-5)
    # Rounding to cents may move one amount by a few cents past its band edge.
    slack = 0.01 * len(channels)
    for channel, (low, high) in bands.items():
        amount = result.allocations[channel]
        assert low * budget - slack <= amount <= high * budget + slack
        assert low - 1e-6 <= result.shares[channel] <= high + 1e-6


@settings(max_examples=100, deadline=None)
@given(
    st.floats(min_value=0.5, max_value=100.0),
    st.floats(min_value=0.5, max_value=100.0),
)
def test_cheaper_channel_gets_more_without_bands(cheap: float, dear: float) -> None:
    assume(cheap < dear)
    result = allocate_budget(
        budget=1000.0,
        channels=["a", "b"],
        cost_per_conversion={"a": cheap, "b": dear},
        bands={},
    )
    assert result.allocations["a"] >= result.allocations["b"]
    assert result.shares["a"] == pytest.approx(dear / (cheap + dear), abs=1e-5)


def test_pacing_window_is_inclusive_and_counts_days_before_today(month: Session) -> None:
    result = budget_pacing(
        month,
        budget=300.0,
        start=date(2026, 11, 10),
        end=date(2026, 11, 12),
        today=date(2026, 11, 10) + timedelta(days=5),
        channels=["search"],
    )
    # All three days have passed: 10th (100), 11th (900) and 12th (none).
    assert (result.days_elapsed, result.spent, result.expected) == (3, 1000.0, 300.0)
    assert result.projected == 1000.0
