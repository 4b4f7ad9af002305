"""The demo workspace: deterministic, internally consistent, and its planted truths recoverable."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.engine import read_session, write_session
from db.execution_models import Delivery
from db.models import Meta
from db.workspace import workspace_version
from tests.support.workspace import NOW, TODAY, add_action, new_engine
from tools.audience import SegmentRules, build_segment
from tools.creative import BrandSnapshot
from tools.performance import channel_cost_per_conversion
from tools.research import period_trends
from tools.send_time import best_send_time
from workspace.demo import REPEAT_SENDS, DemoStats, generate_demo_workspace

CONTACTS = 3000
MIDNIGHT = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, DemoStats]]:
    engine = new_engine(tmp_path_factory.mktemp("demo"))
    with write_session(engine) as session:
        stats = generate_demo_workspace(session, contacts=CONTACTS, seed=7, today=TODAY)
    yield engine, stats
    engine.dispose()


@pytest.fixture
def session(demo: tuple[Engine, DemoStats]) -> Iterator[Session]:
    with read_session(demo[0]) as s:
        yield s


def scalar(session: Session, sql: str, **params: object) -> object:
    return session.connection().execute(text(sql), params).scalar_one()


def ids_in(session: Session, region: str) -> list[int]:
    rows = session.connection().execute(
        text("SELECT id FROM contact WHERE region = :r ORDER BY id"), {"r": region}
    )
    return [row[0] for row in rows]


def digest(engine: Engine) -> str:
    """A hash of every workspace row, to compare two generated workspaces."""
    h = hashlib.sha256()
    with read_session(engine) as s:
        for table in ("brandprofile", "contact", "event", "spend"):
            for row in s.connection().execute(text(f"SELECT * FROM {table} ORDER BY 1")):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def test_counts_brand_and_meta(demo: tuple[Engine, DemoStats], session: Session) -> None:
    _, stats = demo
    assert stats.contacts == CONTACTS == scalar(session, "SELECT count(*) FROM contact")
    assert stats.events == scalar(session, "SELECT count(*) FROM event")
    assert 15 * CONTACTS <= stats.events <= 25 * CONTACTS
    assert stats.spend_rows == 364 * 5 == scalar(session, "SELECT count(*) FROM spend")
    assert scalar(session, "SELECT count(DISTINCT email) FROM contact") == CONTACTS
    brand = BrandSnapshot.load(session)
    assert brand.name == "Northwind Outfitters"
    assert "act now" in brand.banned_phrases and brand.required_disclaimers
    assert session.get(Meta, "workspace_source").value == "demo"  # type: ignore[union-attr]
    assert session.get(Meta, "demo_seed").value == "7"  # type: ignore[union-attr]
    assert workspace_version(session)  # derived rollups see that the data changed


def test_indexes_are_rebuilt_after_the_bulk_insert(session: Session) -> None:
    rows = session.connection().execute(
        text(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
            "('event', 'contact')"
        )
    )
    names = {row[0] for row in rows}
    assert {"ix_event_kind_time", "ix_event_contact_kind_time"} <= names
    assert "ix_contact_last_purchase_at" in names
    assert scalar(session, "PRAGMA integrity_check") == "ok"


def test_planted_facts_match_the_rows(demo: tuple[Engine, DemoStats], session: Session) -> None:
    _, stats = demo
    for variant in ("A", "B"):
        for event, expected in (("send", stats.ab_test_sends), ("click", stats.ab_test_clicks)):
            count = scalar(
                session,
                "SELECT count(*) FROM event WHERE campaign = :c AND variant = :v AND event = :e",
                c=stats.ab_test_campaign,
                v=variant,
                e=event,
            )
            assert count == expected[variant]
    # Each member of a repeated creative's cohort gets it at most once a week.
    for campaign in (stats.fatiguing_campaign, stats.steady_campaign):
        most = scalar(
            session,
            "SELECT max(n) FROM (SELECT count(*) AS n FROM event WHERE campaign = :c "
            "AND event = 'send' GROUP BY contact_id)",
            c=campaign,
        )
        assert most == stats.repeat_sends == REPEAT_SENDS
    spike = scalar(
        session,
        "SELECT spend FROM spend WHERE date = :d AND channel = :ch",
        d=stats.anomaly_date.isoformat(),
        ch=stats.anomaly_channel,
    )
    week_before = scalar(
        session,
        "SELECT avg(spend) FROM spend WHERE date >= :s AND date < :d AND channel = :ch",
        s=(stats.anomaly_date - timedelta(days=7)).isoformat(),
        d=stats.anomaly_date.isoformat(),
        ch=stats.anomaly_channel,
    )
    assert 3 < spike / week_before < 5.5  # type: ignore[operator]
    assert stats.anomaly_metric == "spend" and stats.anomaly_factor == 4.0


def test_events_fall_in_the_year_before_today(session: Session) -> None:
    first, last = (
        session.connection()
        .execute(text("SELECT min(occurred_at), max(occurred_at) FROM event"))
        .one()
    )
    assert first >= str(TODAY - timedelta(days=365))
    assert last < str(TODAY)
    days = scalar(session, "SELECT count(DISTINCT date) FROM spend WHERE date < :t", t=str(TODAY))
    assert days == 364


def test_consent_and_suppression_rates_are_realistic(session: Session) -> None:
    def share(column: str) -> float:
        return float(scalar(session, f"SELECT avg({column}) FROM contact"))  # type: ignore[arg-type]

    assert share("email_consent") == pytest.approx(0.85, abs=0.03)
    assert share("sms_consent") == pytest.approx(0.45, abs=0.03)
    assert share("push_consent") == pytest.approx(0.30, abs=0.03)
    assert share("unsubscribed") == pytest.approx(0.04, abs=0.015)
    assert share("bounced") == pytest.approx(0.02, abs=0.01)
    # Nobody gets a message after unsubscribing.
    late_sends = scalar(
        session,
        "SELECT count(*) FROM event s JOIN event u ON u.contact_id = s.contact_id "
        "AND u.event = 'unsubscribe' WHERE s.event = 'send' AND s.occurred_at > u.occurred_at",
    )
    assert late_sends == 0


def test_order_totals_match_purchase_events(session: Session) -> None:
    mismatches = scalar(
        session,
        """
        SELECT count(*) FROM contact c LEFT JOIN (
            SELECT contact_id, count(*) AS n, sum(revenue) AS revenue, max(occurred_at) AS last
            FROM event WHERE event = 'purchase' GROUP BY contact_id
        ) p ON p.contact_id = c.id
        WHERE c.orders != coalesce(p.n, 0)
            OR abs(c.lifetime_value - coalesce(p.revenue, 0)) > 0.01
            OR coalesce(c.last_purchase_at, '') != coalesce(p.last, '')
        """,
    )
    assert mismatches == 0


def test_lapsed_cohort_is_sizeable(demo: tuple[Engine, DemoStats], session: Session) -> None:
    _, stats = demo
    lapsed = SegmentRules(
        channels=["email"], min_days_since_purchase=90, max_days_since_purchase=365
    )
    result = build_segment(session, lapsed, now=MIDNIGHT)
    assert result.matched == stats.lapsed_purchasers
    assert 0.2 <= result.matched / stats.purchasers <= 0.3
    assert result.size > 200
    everyone = build_segment(session, SegmentRules(channels=["email"]), now=MIDNIGHT)
    assert 0.01 <= everyone.suppressed["frequency_cap"] / everyone.matched <= 0.1


@pytest.mark.parametrize(("region", "slot"), [("Americas", (1, 10)), ("Europe", (3, 9))])
def test_best_send_slot_per_region_is_recovered(
    session: Session, region: str, slot: tuple[int, int]
) -> None:
    result = best_send_time(session, contact_ids=ids_in(session, region), now=NOW)
    assert result.fallback_reason is None
    assert (result.send_weekday, result.send_hour_local) == slot
    runner_up = result.alternatives[0].expected_open_rate
    assert result.expected_open_rate > runner_up + 0.03
    assert result.expected_open_rate > result.global_open_rate


def test_sms_costs_more_per_conversion_than_email(session: Session) -> None:
    costs = channel_cost_per_conversion(
        session, channels=["email", "sms"], start=TODAY - timedelta(days=365), end=TODAY
    )
    assert costs["email"] is not None and costs["sms"] is not None
    assert costs["sms"] > 2 * costs["email"]


def test_social_push_shows_up_as_a_trend(session: Session) -> None:
    report = period_trends(session, today=TODAY, days=28)
    social = next(c for c in report.channels if c.channel == "social")
    change = social.metrics["spend"].change_pct
    assert change is not None and 20 <= change <= 55
    assert len(report.top_movers) == 3
    assert all(m.sentence for m in report.top_movers)


def test_same_seed_same_data_and_regeneration_replaces(tmp_path: Path) -> None:
    for folder in ("a", "b", "c"):
        (tmp_path / folder).mkdir()
    engines = [new_engine(tmp_path / name) for name in ("a", "b", "c")]
    for engine, seed in zip(engines, (11, 11, 12), strict=True):
        with write_session(engine) as s:
            generate_demo_workspace(s, contacts=300, seed=seed, today=TODAY)
    first, same, other = (digest(e) for e in engines)
    assert first == same
    assert first != other

    # Regenerating over a used workspace replaces everything, outbox rows included.
    engine = engines[0]
    with write_session(engine) as s:
        add_action(s, "act-demo")
        s.add(
            Delivery(
                idempotency_key="act-demo:1:1:email",
                action_id="act-demo",
                contact_id=1,
                channel="email",
                connector="shadow",
                status="shadow",
                created_at=NOW,
            )
        )
    with write_session(engine) as s:
        again = generate_demo_workspace(s, contacts=300, seed=11, today=TODAY)
    assert digest(engine) == first
    with read_session(engine) as s:
        assert scalar(s, "SELECT count(*) FROM delivery") == 0
        assert scalar(s, "SELECT count(*) FROM contact") == again.contacts == 300
    for e in engines:
        e.dispose()


@pytest.mark.parametrize("per_contact", [10, 30])
def test_target_events_scales_the_cadence(tmp_path: Path, per_contact: int) -> None:
    engine = new_engine(tmp_path)
    contacts = 2_000
    target = per_contact * contacts
    with write_session(engine) as s:
        stats = generate_demo_workspace(
            s, contacts=contacts, seed=5, today=TODAY, target_events=target
        )
    assert abs(stats.events - target) <= 0.15 * target
    assert stats.target_events == target
    assert (stats.cadence < 1) if per_contact < 22 else (stats.cadence > 1)
    with read_session(engine) as s:
        assert scalar(s, "SELECT count(*) FROM event") == stats.events
    engine.dispose()


def test_target_events_out_of_reach_is_refused(tmp_path: Path) -> None:
    engine = new_engine(tmp_path)
    with write_session(engine) as s:
        with pytest.raises(ValueError, match="per contact"):
            generate_demo_workspace(s, contacts=100, seed=5, today=TODAY, target_events=100)
        with pytest.raises(ValueError, match="at least one contact"):
            generate_demo_workspace(s, contacts=0, seed=5, today=TODAY, target_events=10)
    engine.dispose()


def test_same_seed_and_target_give_the_same_data(tmp_path: Path) -> None:
    digests = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        engine = new_engine(tmp_path / folder)
        with write_session(engine) as s:
            generate_demo_workspace(s, contacts=300, seed=3, today=TODAY, target_events=3_600)
        digests.append(digest(engine))
        engine.dispose()
    assert digests[0] == digests[1]
