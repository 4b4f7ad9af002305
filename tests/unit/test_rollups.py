"""Rollups: the fast paths give the answers of straightforward queries over the raw events."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from db.engine import read_session, write_session
from db.models import Meta
from db.workspace import touch_workspace
from tests.support.workspace import (
    NOW,
    add_contact,
    add_event,
    add_spend,
    new_engine,
    workspace_writer,
)
from tools.audience import SegmentRules, _classified, build_segment, segment_contact_ids
from tools.performance import kpi_summary
from tools.send_time import _slot_counts, best_send_time
from workspace.rollups import (
    ROLLUP_BUILD_KEY,
    ensure_rollups,
    refresh_rollups,
    rollup_connection,
    rollup_state,
)

ZONES = (
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "Asia/Kolkata",
    "UTC",
    "Mars/Olympus_Mons",  # unknown: read as UTC
)
SWITCHES = (
    datetime(2026, 3, 8, 7, tzinfo=UTC),  # US spring forward
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # EU spring forward
    datetime(2026, 4, 5, 16, tzinfo=UTC),  # Sydney falls back
    datetime(2026, 10, 4, 16, tzinfo=UTC),  # Sydney springs forward
    datetime(2026, 10, 25, 1, tzinfo=UTC),  # EU falls back
    datetime(2026, 11, 1, 6, tzinfo=UTC),  # US falls back
)
CAMPAIGNS = ("c1", "c2", "c3", "c4", "c5", "c6")


def _history(session: Session, rng: random.Random, contacts: int) -> list[int]:
    """Contacts in several zones with sends all year, many of them hours from a DST switch."""
    ids = []
    for n in range(contacts):
        last_purchase = NOW - timedelta(days=rng.randrange(1, 400)) if rng.random() < 0.7 else None
        ids.append(
            add_contact(
                session,
                timezone=ZONES[n % len(ZONES)],
                region=("Americas", "Europe", "APAC")[n % 3],
                email_consent=rng.random() < 0.8,
                sms_consent=rng.random() < 0.5,
                push_consent=rng.random() < 0.3,
                unsubscribed=rng.random() < 0.05,
                bounced=rng.random() < 0.05,
                orders=rng.randrange(1, 5) if last_purchase else 0,
                lifetime_value=round(rng.uniform(10, 500), 2) if last_purchase else 0.0,
                last_purchase_at=last_purchase,
                created_at=NOW - timedelta(days=rng.randrange(1, 900)),
            )
        )
    for contact in ids:
        for _ in range(rng.randrange(0, 14)):
            if rng.random() < 0.4:
                at = rng.choice(SWITCHES) + timedelta(minutes=rng.randrange(-36 * 60, 36 * 60))
            else:
                at = NOW - timedelta(seconds=rng.randrange(1, 400 * 86_400))
            channel = rng.choice(("email", "email", "sms", "push"))
            campaign = rng.choice(CAMPAIGNS)
            add_event(session, contact, "send", at, channel=channel, campaign=campaign)
            if rng.random() < 0.1:  # a second send at the same moment counts twice
                add_event(session, contact, "send", at, channel=channel, campaign=campaign)
            if rng.random() < 0.4:
                opened_on = channel if rng.random() < 0.8 else "email"
                add_event(
                    session,
                    contact,
                    "open",
                    at + timedelta(hours=rng.randrange(-48, 48)),
                    channel=opened_on,
                    campaign=campaign,
                )
            if rng.random() < 0.15:
                add_event(session, contact, "click", at + timedelta(hours=2), channel=channel)
            if rng.random() < 0.1:
                revenue = round(rng.uniform(5, 300), 2)
                add_event(
                    session,
                    contact,
                    "purchase",
                    at + timedelta(hours=3),
                    channel=rng.choice((channel, "search", "web")),
                    revenue=revenue,
                )
        for _ in range(rng.choice((0, 0, 1, 2, 3, 4))):  # the last days: frequency caps
            at = NOW - timedelta(seconds=rng.randrange(1, 9 * 86_400))
            add_event(session, contact, "send", at, channel=rng.choice(("email", "sms")))
        if rng.random() < 0.1:
            add_event(session, contact, "unsubscribe", NOW - timedelta(days=3))
    for day in range(0, 400, 3):
        add_spend(session, (NOW - timedelta(days=day)).date(), rng.choice(("email", "search")), 7.5)
    return ids


def _workspace(folder: Path) -> Iterator[tuple[Engine, list[int]]]:
    engine = new_engine(folder)
    with workspace_writer(engine) as s:
        ids = _history(s, random.Random(20261121), contacts=90)
    yield engine, ids
    engine.dispose()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, list[int]]]:
    """One shared workspace for the tests that only read."""
    yield from _workspace(tmp_path_factory.mktemp("rollups"))


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[tuple[Engine, list[int]]]:
    """A workspace of the test's own, to change."""
    yield from _workspace(tmp_path)


# --- Reference queries: the pre-rollup implementations, straight over `event` ------------


def reference_slots(
    conn: Connection, contact_ids: list[int] | None, channel: str, start: datetime, now: datetime
) -> dict[tuple[int, int], tuple[int, int]]:
    """(weekday, hour) -> (sends, opens): each send in its zone's local time on its UTC day."""
    first, last = start.date(), now.date()
    offsets = []
    for (zone_name,) in conn.exec_driver_sql("SELECT DISTINCT timezone FROM contact"):
        try:
            zone = ZoneInfo(zone_name)
        except ZoneInfoNotFoundError:
            continue
        for n in range((last - first).days + 1):
            day = first + timedelta(days=n)
            offset = datetime.combine(day, time(12), tzinfo=UTC).astimezone(zone).utcoffset()
            assert offset is not None
            offsets.append((zone_name, day.isoformat(), int(offset.total_seconds() // 60)))
    conn.exec_driver_sql("CREATE TEMP TABLE ref_offsets (timezone TEXT, day TEXT, minutes INT)")
    conn.exec_driver_sql("INSERT INTO temp.ref_offsets VALUES (?, ?, ?)", offsets)
    conn.exec_driver_sql("CREATE TEMP TABLE ref_ids (id INTEGER PRIMARY KEY)")
    if contact_ids:
        conn.exec_driver_sql(
            "INSERT OR IGNORE INTO temp.ref_ids VALUES (?)", [(i,) for i in contact_ids]
        )
    id_join = "" if contact_ids is None else "JOIN temp.ref_ids i ON i.id = e.contact_id"
    try:
        rows = conn.execute(
            text(f"""
            WITH sends AS (
                SELECT datetime(e.occurred_at, printf('%+d minutes', coalesce(z.minutes, 0)))
                        AS local_at,
                    EXISTS (SELECT 1 FROM event o WHERE o.contact_id = e.contact_id
                            AND o.event = 'open' AND o.channel = e.channel
                            AND o.campaign = e.campaign) AS opened
                FROM event e {id_join}
                JOIN contact c ON c.id = e.contact_id
                LEFT JOIN temp.ref_offsets z
                    ON z.timezone = c.timezone AND z.day = substr(e.occurred_at, 1, 10)
                WHERE e.event = 'send' AND e.channel = :channel
                    AND e.occurred_at >= :start AND e.occurred_at < :now
            )
            SELECT (CAST(strftime('%w', local_at) AS INTEGER) + 6) % 7 AS weekday,
                CAST(strftime('%H', local_at) AS INTEGER) AS hour,
                count(*) AS sends, sum(opened) AS opens
            FROM sends GROUP BY weekday, hour
            """),
            {"channel": channel, "start": _text(start), "now": _text(now)},
        ).all()
    finally:
        conn.exec_driver_sql("DROP TABLE temp.ref_offsets")
        conn.exec_driver_sql("DROP TABLE temp.ref_ids")
    return {(r.weekday, r.hour): (r.sends, r.opens) for r in rows}


def reference_kpis(conn: Connection, start: date, end: date) -> dict[str, tuple[Any, ...]]:
    rows = conn.execute(
        text(
            "SELECT channel, sum(event = 'send'), sum(event = 'open'), sum(event = 'click'), "
            "sum(event = 'purchase'), sum(CASE WHEN event = 'purchase' THEN revenue ELSE 0 END) "
            "FROM event WHERE occurred_at >= :start AND occurred_at < :stop "
            "AND event IN ('send', 'open', 'click', 'purchase') GROUP BY channel"
        ),
        {"start": start.isoformat(), "stop": (end + timedelta(days=1)).isoformat()},
    ).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def reference_segment(conn: Connection, rules: SegmentRules, now: datetime) -> list[int]:
    """Ids a segment includes, rule by rule in plain SQL (the cap from the raw sends)."""
    where = ["NOT c.unsubscribed"]
    params: dict[str, Any] = {
        "now": _text(now),
        "cap_start": _text(now - timedelta(days=7)),
        "cap": rules.frequency_cap,
    }
    reach = []
    if "email" in rules.channels:
        reach.append("(c.email_consent AND NOT c.bounced)")
    if "sms" in rules.channels:
        reach.append("c.sms_consent")
    if "push" in rules.channels:
        reach.append("c.push_consent")
    where.append(f"({' OR '.join(reach)})")
    if rules.min_days_since_purchase is not None:
        where.append("c.last_purchase_at <= :lapsed")
        params["lapsed"] = _text(now - timedelta(days=rules.min_days_since_purchase))
    if rules.regions is not None:
        where.append("lower(c.region) IN :regions")
        params["regions"] = [r.lower() for r in rules.regions]
    where.append(
        "(SELECT count(*) FROM event s WHERE s.contact_id = c.id AND s.event = 'send' "
        "AND s.occurred_at >= :cap_start AND s.occurred_at < :now) < :cap"
    )
    query = text(f"SELECT c.id FROM contact c WHERE {' AND '.join(where)} ORDER BY c.id")
    if rules.regions is not None:
        query = query.bindparams(bindparam("regions", expanding=True))
    return [row[0] for row in conn.execute(query, params)]


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# --- Equivalence --------------------------------------------------------------------------

WINDOWS = [
    (NOW, 365),
    (NOW, 30),
    (NOW, 1),
    (datetime(2026, 3, 30, 9, 30, tzinfo=UTC), 60),  # ends inside the history: partial contacts
    (datetime(2026, 11, 2, 0, 0, tzinfo=UTC), 400),
]


@pytest.mark.parametrize(("now", "lookback"), WINDOWS)
@pytest.mark.parametrize("channel", ["email", "sms", "push", "fax"])
def test_send_slots_match_the_raw_events(
    history: tuple[Engine, list[int]], now: datetime, lookback: int, channel: str
) -> None:
    engine, ids = history
    start = now - timedelta(days=lookback)
    rng = random.Random(lookback)
    subset = rng.sample(ids, 40)
    audiences: list[list[int] | None] = [None, subset, subset + subset[:5], [], [10**9]]
    with read_session(engine) as session:
        for audience in audiences:
            with rollup_connection(session) as conn:
                fast = _slot_counts(conn, audience, channel, start, now)
            slow = reference_slots(session.connection(), audience, channel, start, now)
            assert fast == slow


def test_best_send_time_places_sends_in_local_time_across_dst(
    history: tuple[Engine, list[int]],
) -> None:
    engine, _ = history
    with read_session(engine) as session:
        start = NOW - timedelta(days=365)
        slow = reference_slots(session.connection(), None, "email", start, NOW)
        result = best_send_time(session, contact_ids=None, now=NOW, min_sample=0, smoothing=0)
    assert result.total_sends == sum(sends for sends, _ in slow.values())
    best = (result.send_weekday, result.send_hour_local)
    sends, opens = slow[best]
    assert result.sample_sends == sends
    assert result.expected_open_rate == round(opens / sends, 4)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2025, 11, 21), date(2026, 11, 21)),
        (date(2026, 10, 22), date(2026, 11, 21)),
        (date(2026, 3, 8), date(2026, 3, 8)),
        (date(2020, 1, 1), date(2020, 1, 31)),
    ],
)
def test_kpis_match_the_raw_events(
    history: tuple[Engine, list[int]], start: date, end: date
) -> None:
    engine, _ = history
    with read_session(engine) as session:
        summary = kpi_summary(session, start=start, end=end)
        slow = reference_kpis(session.connection(), start, end)
    rows = {row.channel: row for row in summary.rows}
    for channel, (sends, opens, clicks, purchases, revenue) in slow.items():
        row = rows[channel]
        assert (row.sends, row.opens, row.clicks, row.conversions) == (
            sends,
            opens,
            clicks,
            purchases,
        )
        assert row.revenue == pytest.approx(round(revenue, 2), abs=0.011)
    assert {c for c, row in rows.items() if row.sends or row.conversions} <= set(slow)


@pytest.mark.parametrize(
    "rules",
    [
        SegmentRules(channels=["email", "sms"], min_days_since_purchase=90),
        SegmentRules(channels=["email", "sms"], min_days_since_purchase=90, frequency_cap=1),
        SegmentRules(channels=["push"], regions=["europe", "APAC"], frequency_cap=2),
        SegmentRules(channels=["email"]),
    ],
)
@pytest.mark.parametrize("now", [NOW, datetime(2026, 3, 9, 3, 0, tzinfo=UTC)])
def test_segments_match_plain_sql(
    history: tuple[Engine, list[int]], rules: SegmentRules, now: datetime
) -> None:
    engine, _ = history
    with read_session(engine) as session:
        expected = reference_segment(session.connection(), rules, now)
        assert segment_contact_ids(session, rules, now=now) == expected
        assert build_segment(session, rules, now=now).size == len(expected)


@pytest.mark.parametrize("cap", [1, 2, 3])
def test_recent_sends_and_the_full_history_agree_on_the_cap(
    history: tuple[Engine, list[int]], cap: int
) -> None:
    engine, _ = history
    rules = SegmentRules(channels=["email", "sms", "push"], frequency_cap=cap)
    with read_session(engine) as session, rollup_connection(session) as conn:
        recent_from = rollup_state(conn).recent_from
        assert recent_from is not None and recent_from <= (NOW - timedelta(days=7)).isoformat()
        answers = []
        for source in (recent_from, None):  # the recent-sends rollup, then every event
            sql, params = _classified(rules, NOW, recent_from=source)
            query = text(f"{sql} SELECT id FROM classified WHERE reason = 'frequency_cap'")
            answers.append(sorted(row[0] for row in conn.execute(query, params)))
    assert answers[0] == answers[1] and answers[0]


# --- Freshness ----------------------------------------------------------------------------


def _build(engine: Engine) -> str | None:
    with read_session(engine) as session:
        row = session.get(Meta, ROLLUP_BUILD_KEY)
        return row.value if row else None


def test_rollups_rebuild_only_when_the_workspace_changes(
    workspace: tuple[Engine, list[int]],
) -> None:
    engine, ids = workspace
    with read_session(engine) as session:
        ensure_rollups(session)
    first = _build(engine)
    assert first is not None
    with read_session(engine) as session:
        ensure_rollups(session)
        kpi_summary(session, start=date(2026, 1, 1), end=date(2026, 12, 31))
    assert _build(engine) == first
    with workspace_writer(engine) as s:
        add_event(s, ids[0], "send", NOW - timedelta(hours=1))
    with read_session(engine) as session:
        ensure_rollups(session)
    assert _build(engine) != first
    with read_session(engine) as session:
        assert rollup_state(session.connection()).fresh


def test_a_write_session_rebuilds_inside_its_own_transaction(tmp_path: Path) -> None:
    engine = new_engine(tmp_path)
    with write_session(engine) as s:
        contact = add_contact(s)
        add_event(s, contact, "send", NOW - timedelta(days=1))
        touch_workspace(s)
        # Not committed yet: only this transaction can see the send.
        summary = kpi_summary(s, start=date(2026, 11, 20), end=date(2026, 11, 20))
        assert summary.totals.sends == 1
    with read_session(engine) as session:
        assert rollup_state(session.connection()).fresh
    engine.dispose()


def test_a_reader_with_an_older_snapshot_still_reads_fresh_rollups(
    workspace: tuple[Engine, list[int]],
) -> None:
    engine, ids = workspace
    with read_session(engine) as session:
        ensure_rollups(session)
    with workspace_writer(engine) as s:
        for n in range(3):
            add_event(s, ids[0], "send", NOW - timedelta(hours=n + 1), campaign="late")
    with read_session(engine) as session:
        # The snapshot starts here, before the rebuild that the next call commits.
        assert not rollup_state(session.connection()).fresh
        later = kpi_summary(session, start=date(2026, 11, 21), end=date(2026, 11, 21))
        assert not rollup_state(session.connection()).fresh
        expected = reference_kpis(session.connection(), date(2026, 11, 21), date(2026, 11, 21))
    assert later.totals.sends == sum(counts[0] for counts in expected.values())


def test_cached_send_times_never_outlive_a_workspace_change(
    workspace: tuple[Engine, list[int]],
) -> None:
    engine, ids = workspace
    audience = ids[:30]
    with read_session(engine) as session:
        first = best_send_time(session, contact_ids=audience, now=NOW, min_sample=0)
        again = best_send_time(session, contact_ids=audience, now=NOW, min_sample=0)
    assert again == first
    with workspace_writer(engine) as s:
        for n in range(40):
            add_event(s, ids[0], "send", NOW - timedelta(days=2, minutes=n), campaign=f"x{n}")
    with read_session(engine) as session:
        changed = best_send_time(session, contact_ids=audience, now=NOW, min_sample=0)
        expected = reference_slots(
            session.connection(), audience, "email", NOW - timedelta(days=365), NOW
        )
    assert changed.total_sends == first.total_sends + 40
    assert changed.total_sends == sum(sends for sends, _ in expected.values())


def test_an_empty_workspace_and_one_without_sends(tmp_path: Path) -> None:
    engine = new_engine(tmp_path)
    with read_session(engine) as session:
        assert kpi_summary(session, start=date(2026, 1, 1), end=date(2026, 12, 31)).rows == []
        nobody = best_send_time(session, contact_ids=None, now=NOW)
        assert nobody.total_sends == 0 and nobody.fallback_reason is not None
    with workspace_writer(engine) as s:
        contact = add_contact(s, last_purchase_at=NOW - timedelta(days=100), orders=1)
        add_event(s, contact, "purchase", NOW - timedelta(days=100), revenue=20.0)
    with read_session(engine) as session:
        rules = SegmentRules(channels=["email"], min_days_since_purchase=90)
        assert segment_contact_ids(session, rules, now=NOW) == [contact]
        assert best_send_time(session, contact_ids=[contact], now=NOW).total_sends == 0
    engine.dispose()


def test_refresh_reports_what_it_wrote(workspace: tuple[Engine, list[int]]) -> None:
    engine, _ = workspace
    with write_session(engine) as s:
        touch_workspace(s)
        stats = refresh_rollups(s)
        sends = (
            s.connection()
            .exec_driver_sql("SELECT count(*) FROM event WHERE event = 'send'")
            .scalar_one()
        )
    assert stats.send_rows == sends
    assert stats.profile_rows > 0 and stats.kpi_rows > 0
    assert stats.workspace_version == _version(engine)


def _version(engine: Engine) -> str:
    with read_session(engine) as session:
        row = session.get(Meta, "workspace_version")
        return row.value if row else ""
