"""Send plans: time-zone waves in UTC, daylight saving, and moves out of quiet hours."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from db.engine import read_session, write_session
from tests.support.workspace import add_contact, new_engine
from tools.schedule import in_quiet_hours, send_plan


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
    # 02:00 does not exist in New York that day: it lands at 03:00 EDT, inside quiet hours,
    # so the send moves to their end, 06:00 EDT.
    assert new_york.planned_at_utc == utc(2026, 3, 8, 7)
    assert (new_york.send_at_utc, new_york.local_time) == (utc(2026, 3, 8, 10), "06:00")
    assert new_york.note is not None and "clocks go forward" in new_york.note
    assert new_york.in_quiet_hours and not berlin.in_quiet_hours
    assert (berlin.send_at_utc, berlin.local_time) == (utc(2026, 3, 8, 1), "02:00")
    assert plan.contacts_in_quiet_hours == 2
    assert (plan.first_send_utc, plan.last_send_utc) == (utc(2026, 3, 8, 1), utc(2026, 3, 8, 10))
    assert plan.detail.endswith("; 2 of them moved out of quiet hours.")
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


def test_quiet_hours_move_a_send_to_their_end(world: tuple[Session, list[int]]) -> None:
    session, ids = world
    new_york, berlin, kolkata = ids[0], ids[2], ids[5]
    late = send_plan(
        session,
        contact_ids=[new_york, berlin, kolkata],
        send_date=date(2026, 12, 1),
        send_hour_local=22,
        quiet_start=21,
        quiet_end=8,
    )
    # 22:00 is in the evening part of a window that wraps midnight: 08:00 the next morning.
    assert {g.timezone: (g.local_time, g.send_at_utc) for g in late.groups} == {
        "America/New_York": ("08:00", utc(2026, 12, 2, 13)),
        "Europe/Berlin": ("08:00", utc(2026, 12, 2, 7)),
        "Asia/Kolkata": ("08:00", utc(2026, 12, 2, 2, 30)),
    }
    assert [g.planned_at_utc for g in late.groups] == [
        utc(2026, 12, 1, 16, 30),
        utc(2026, 12, 1, 21),
        utc(2026, 12, 2, 3),
    ]
    assert late.contacts_in_quiet_hours == 3 and all(g.in_quiet_hours for g in late.groups)
    assert (late.first_send_utc, late.last_send_utc) == (
        utc(2026, 12, 2, 2, 30),
        utc(2026, 12, 2, 13),
    )
    early = send_plan(
        session,
        contact_ids=[berlin],
        send_date=date(2026, 12, 1),
        send_hour_local=6,
        quiet_start=21,
        quiet_end=8,
    )
    # 06:00 is in the morning part: 08:00 the same day.
    assert early.groups[0].send_at_utc == utc(2026, 12, 1, 7)
    within = send_plan(
        session,
        contact_ids=[berlin],
        send_date=date(2026, 12, 1),
        send_hour_local=12,
        quiet_start=12,
        quiet_end=14,
    )
    assert (within.groups[0].local_time, within.contacts_in_quiet_hours) == ("14:00", 1)


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
    assert empty.first_send_utc is None and empty.last_send_utc is None


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
        # Nobody gets a message in quiet hours, and a move only ever delays a send.
        assert not any(in_quiet_hours(int(g.local_time[:2]), 22, 7) for g in plan.groups)
        assert all(g.send_at_utc >= g.planned_at_utc for g in plan.groups)
        moved = sum(g.contacts for g in plan.groups if g.send_at_utc != g.planned_at_utc)
        assert moved == plan.contacts_in_quiet_hours

    check()
