"""The tools recover every truth planted in the demo workspace, for more than one seed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.engine import read_session, write_session
from tests.support.workspace import NOW, TODAY, new_engine
from tools.anomaly import kpi_anomalies
from tools.audience import SegmentRules, build_segment
from tools.experiment import variant_readout
from tools.fatigue import creative_fatigue
from tools.performance import channel_cost_per_conversion
from tools.send_time import best_send_time
from workspace.demo import BEST_SLOT, DemoStats, generate_demo_workspace

CONTACTS = 6_000
MIDNIGHT = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC)


@dataclass(frozen=True)
class Demo:
    engine: Engine
    stats: DemoStats


@pytest.fixture(scope="module", params=[7, 11], ids=lambda seed: f"seed{seed}")
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    engine = new_engine(tmp_path_factory.mktemp(f"planted{request.param}"))
    with write_session(engine) as session:
        stats = generate_demo_workspace(session, contacts=CONTACTS, seed=request.param, today=TODAY)
    yield Demo(engine, stats)
    engine.dispose()


@pytest.fixture
def session(demo: Demo) -> Iterator[Session]:
    with read_session(demo.engine) as s:
        yield s


def ids_in(session: Session, region: str) -> list[int]:
    rows = session.connection().execute(
        text("SELECT id FROM contact WHERE region = :r ORDER BY id"), {"r": region}
    )
    return [row[0] for row in rows]


@pytest.mark.parametrize("region", sorted(BEST_SLOT))
def test_best_send_slot_per_region(demo: Demo, session: Session, region: str) -> None:
    result = best_send_time(session, contact_ids=ids_in(session, region), now=NOW)
    assert result.fallback_reason is None
    assert (result.send_weekday, result.send_hour_local) == demo.stats.best_send_slots[region]
    assert result.expected_open_rate > result.alternatives[0].expected_open_rate
    assert result.expected_open_rate > result.global_open_rate + 0.03


def test_lapsed_cohort_is_a_quarter_of_purchasers(demo: Demo, session: Session) -> None:
    lapsed = SegmentRules(
        channels=["email"], min_days_since_purchase=90, max_days_since_purchase=365
    )
    result = build_segment(session, lapsed, now=MIDNIGHT)
    assert result.matched == demo.stats.lapsed_purchasers
    assert demo.stats.lapsed_share == pytest.approx(
        result.matched / demo.stats.purchasers, abs=1e-4
    )
    assert 0.2 <= demo.stats.lapsed_share <= 0.3


def test_sms_costs_more_per_conversion_than_email(session: Session) -> None:
    costs = channel_cost_per_conversion(
        session, channels=["email", "sms"], start=TODAY - timedelta(days=365), end=TODAY
    )
    assert costs["email"] is not None and costs["sms"] is not None
    assert costs["sms"] > 2 * costs["email"]


def test_variant_b_wins_the_planted_ab_test(demo: Demo, session: Session) -> None:
    stats = demo.stats
    readout = variant_readout(session, campaign=stats.ab_test_campaign)
    assert (readout.n_a, readout.n_b) == (stats.ab_test_sends["A"], stats.ab_test_sends["B"])
    assert (readout.successes_a, readout.successes_b) == (
        stats.ab_test_clicks["A"],
        stats.ab_test_clicks["B"],
    )
    assert readout.winner == stats.ab_test_winner == "B"
    assert readout.p_value < 0.001
    assert readout.relative_lift is not None
    assert 0.25 <= readout.relative_lift <= 0.8  # planted: +50%
    # The program's other A/B splits have no real difference: none is as clear as this one.
    others = session.connection().execute(
        text(
            "SELECT DISTINCT campaign FROM event WHERE event = 'send' AND variant = 'B' "
            "AND campaign != :planted"
        ),
        {"planted": stats.ab_test_campaign},
    )
    for (campaign,) in others:
        assert variant_readout(session, campaign=campaign).p_value > readout.p_value


def test_only_the_fatiguing_creative_is_flagged(demo: Demo, session: Session) -> None:
    stats = demo.stats
    report = creative_fatigue(session, now=NOW)
    assert report.flagged == [stats.fatiguing_campaign]
    by_name = {c.campaign: c for c in report.campaigns}
    tired, steady = by_name[stats.fatiguing_campaign], by_name[stats.steady_campaign]
    assert tired.fitted_exposures == steady.fitted_exposures == stats.repeat_sends
    assert tired.decay_per_exposure is not None and steady.decay_per_exposure is not None
    assert abs(tired.decay_per_exposure - stats.fatigue_decay) < 0.07
    assert abs(steady.decay_per_exposure) < 0.05
    assert report.sentences == [tired.sentence]


def test_the_anomaly_day_is_detected_on_the_planted_metric(demo: Demo, session: Session) -> None:
    stats = demo.stats
    start, end = TODAY - timedelta(days=120), TODAY - timedelta(days=1)
    report = kpi_anomalies(
        session,
        start=start,
        end=end,
        channel=stats.anomaly_channel,
        metrics=[stats.anomaly_metric],
    )
    spike = report.anomalies[0]  # the largest |score| first
    assert (spike.day, spike.direction) == (stats.anomaly_date, "spike")
    assert spike.value / spike.median == pytest.approx(stats.anomaly_factor, rel=0.3)
    assert stats.anomaly_date.isoformat() in spike.sentence
    # Anything else flagged is an ordinary weekend dip, nowhere near the spike.
    assert all(abs(a.score) < abs(spike.score) / 3 for a in report.anomalies[1:])
    # Across all channels the spike still stands out as total spend's largest anomaly.
    total = kpi_anomalies(session, start=start, end=end, metrics=["spend"])
    assert total.anomalies[0].day == stats.anomaly_date
