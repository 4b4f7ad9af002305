"""Channel mix and send plans: reach, rates, order, time-zone waves and quiet hours."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from db.engine import read_session, write_session
from tests.support.workspace import NOW, add_contact, add_event, new_engine
from tools import schedule
from tools.schedule import channel_mix, in_quiet_hours, send_plan


@pytest.fixture
def mix(tmp_path: Path) -> Iterator[tuple[Session, dict[str, int]]]:
    """Reach: email a, e; SMS a, c; push b. Email 4 sends, 2 clicks, 1 purchase; SMS 2, 1, 1."""
    engine = new_engine(tmp_path)
    day = timedelta(days=1)
    with write_session(engine) as s:
        ids = {
            "a": add_contact(s, sms_consent=True),
            "b": add_contact(s, bounced=True, push_consent=True),
            "c": add_contact(s, email_consent=False, sms_consent=True),
            "d": add_contact(s, unsubscribed=True, sms_consent=True, push_consent=True),
            "e": add_contact(s),
        }
        for contact in (ids["a"], ids["e"]):
            for n in (1, 2):
                add_event(s, contact, "send", NOW - n * day, campaign=f"e{n}")
            add_event(s, contact, "click", NOW - day, campaign="e1")
        add_event(s, ids["a"], "purchase", NOW - day, campaign="e1", revenue=40.0)
        add_event(s, ids["a"], "send", NOW - 100 * day, campaign="old")  # before the window
        add_event(s, ids["e"], "send", NOW + day, campaign="later")  # after `now`
        for contact in (ids["a"], ids["c"]):
            add_event(s, contact, "send", NOW - 3 * day, channel="sms", campaign="s1")
        add_event(s, ids["c"], "click", NOW - 3 * day, channel="sms", campaign="s1")
        add_event(s, ids["c"], "purchase", NOW - 3 * day, channel="sms", campaign="s1")
        add_event(s, ids["a"], "purchase", NOW - 2 * day, channel="search", campaign="")
    with read_session(engine) as session:
        yield session, ids
    engine.dispose()


def test_channel_mix_by_hand(mix: tuple[Session, dict[str, int]]) -> None:
    session, _ = mix
    result = channel_mix(session, contact_ids=None, now=NOW)
    got = {
        c.channel: (c.reachable, c.sends, c.clicks, c.conversions, c.click_rate, c.conversion_rate)
        for c in result.channels
    }
    assert got == {
        "email": (2, 4, 2, 1, 0.5, 0.25),
        "sms": (2, 2, 1, 1, 0.5, 0.5),
        "push": (1, 0, 0, 0, None, None),
    }
    # Expected conversions: SMS 2 * 0.5 = 1.0 beats email 2 * 0.25 = 0.5; push has no history.
    assert [c.expected_conversions for c in result.channels] == [0.5, 1.0, None]
    assert result.recommended_order == ["sms", "email", "push"]
    assert [c.rate_basis for c in result.channels] == ["contacts", "contacts", "none"]
    assert result.contacts == 5
    assert result.detail.startswith("Lead with SMS (2 reachable, 50.00% conversion per send")
    assert "push (1 reachable, no sends in the last 90 days)" in result.detail


def test_a_small_audience_borrows_workspace_rates(
    mix: tuple[Session, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, ids = mix
    result = channel_mix(session, contact_ids=[ids["c"]], now=NOW)
    by_channel = {c.channel: c for c in result.channels}
    assert [c.reachable for c in result.channels] == [0, 1, 0]
    assert (by_channel["sms"].rate_basis, by_channel["sms"].sends) == ("workspace", 2)
    # Nobody here is reachable by email or push, so their rates are not borrowed.
    assert by_channel["email"].rate_basis == by_channel["push"].rate_basis == "none"
    assert result.recommended_order == ["sms"]
    assert "Nobody is reachable by email or push" in result.detail
    monkeypatch.setattr(schedule, "MIN_SENDS", 1)
    own = channel_mix(session, contact_ids=[ids["c"]], now=NOW)
    sms = own.channels[1]
    assert (sms.rate_basis, sms.sends, sms.clicks, sms.conversions) == ("contacts", 1, 1, 1)
    nobody = channel_mix(session, contact_ids=[ids["d"]], now=NOW)
    assert nobody.recommended_order == []
    assert nobody.detail == "Nobody in this audience can be reached by email, SMS or push."


def test_quiet_hours_wrap_midnight() -> None:
    assert [h for h in range(24) if in_quiet_hours(h, 21, 8)] == [*range(0, 8), 21, 22, 23]
    assert [h for h in range(24) if in_quiet_hours(h, 12, 14)] == [12, 13]
    assert not any(in_quiet_hours(h, 5, 5) for h in range(24))


ZONES = [
    "America/New_York",
    "America/New_York",
    "Europe/Berlin",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Mars/Olympus",
    "UTC",
]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Session, list[int]]]:
    engine = new_engine(tmp_path)
    with write_session(engine) as s:
        ids = [add_contact(s, timezone=zone) for zone in ZONES]
    with read_session(engine) as session:
        yield session, ids
    engine.dispose()


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_send_plan_waves_on_the_us_switch_day(world: tuple[Session, list[int]]) -> None:
    session, ids = world
    # 2026-03-08: New York is on EDT since 02:00; Europe is still on winter time;
    # Sydney is on AEDT (+11), so its 09:00 is the evening before in UTC.
    plan = send_plan(
        session,
        contact_ids=[*ids, ids[0], 999_999],
        send_date=date(2026, 3, 8),
        send_hour_local=9,
        quiet_start=21,
        quiet_end=8,
    )
    assert (plan.contacts, plan.missing) == (8, 1)
    assert [(w.send_at_utc, w.contacts, w.timezones) for w in plan.waves] == [
        (utc(2026, 3, 7, 22), 1, ["Australia/Sydney"]),
        (utc(2026, 3, 8, 3, 30), 1, ["Asia/Kolkata"]),
        (utc(2026, 3, 8, 8), 1, ["Europe/Berlin"]),
        (utc(2026, 3, 8, 9), 3, ["Europe/London", "Mars/Olympus", "UTC"]),
        (utc(2026, 3, 8, 13), 2, ["America/New_York"]),
    ]
    by_zone = {g.timezone: g for g in plan.groups}
    assert by_zone["America/New_York"].utc_offset_minutes == -240
    assert by_zone["Asia/Kolkata"].utc_offset_minutes == 330
    assert by_zone["Mars/Olympus"].note == "unknown time zone 'Mars/Olympus'; sent as UTC"
    assert all(g.local_time == "09:00" and not g.in_quiet_hours for g in plan.groups)
    assert plan.contacts_in_quiet_hours == 0
    assert plan.detail.startswith("8 contacts get the message at 09:00 local on 2026-03-08")


def test_a_skipped_hour_lands_when_clocks_jump(world: tuple[Session, list[int]]) -> None:
    session, ids = world
    plan = send_plan(
        session,
        contact_ids=ids[:3],
        send_date=date(2026, 3, 8),
        send_hour_local=2,
        quiet_start=3,
        quiet_end=6,
    )
    new_york, berlin = plan.groups[1], plan.groups[0]
    assert (new_york.send_at_utc, new_york.local_time) == (utc(2026, 3, 8, 7), "03:00")
    assert new_york.note is not None and "clocks go forward" in new_york.note
    assert new_york.in_quiet_hours and not berlin.in_quiet_hours
    assert plan.contacts_in_quiet_hours == 2
    # On the fall-back day 01:00 happens twice; the plan uses the first (EDT).
    back = send_plan(
        session,
        contact_ids=ids[:1],
        send_date=date(2026, 11, 1),
        send_hour_local=1,
        quiet_start=0,
        quiet_end=0,
    )
    assert back.waves[0].send_at_utc == utc(2026, 11, 1, 5) and back.groups[0].note is None


def test_send_plan_validates_hours(world: tuple[Session, list[int]]) -> None:
    session, ids = world
    with pytest.raises(ValueError, match="send_hour_local"):
        send_plan(
            session,
            contact_ids=ids,
            send_date=date(2026, 3, 8),
            send_hour_local=24,
            quiet_start=0,
            quiet_end=0,
        )
    empty = send_plan(
        session,
        contact_ids=[],
        send_date=date(2026, 3, 8),
        send_hour_local=9,
        quiet_start=0,
        quiet_end=0,
    )
    assert (empty.contacts, empty.waves, empty.detail) == (0, [], "No contacts to schedule.")


def test_send_plan_counts_add_up(world: tuple[Session, list[int]]) -> None:
    session, ids = world

    @settings(max_examples=60, deadline=None)
    @given(
        st.lists(st.sampled_from([*ids, 10_001, 10_002]), max_size=30),
        st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
        st.integers(min_value=0, max_value=23),
    )
    def check(chosen: list[int], day: date, hour: int) -> None:
        plan = send_plan(
            session,
            contact_ids=chosen,
            send_date=day,
            send_hour_local=hour,
            quiet_start=22,
            quiet_end=7,
        )
        assert plan.contacts + plan.missing == len(set(chosen))
        assert sum(g.contacts for g in plan.groups) == plan.contacts
        assert sum(w.contacts for w in plan.waves) == plan.contacts
        assert [w.send_at_utc for w in plan.waves] == sorted({w.send_at_utc for w in plan.waves})

    check()
