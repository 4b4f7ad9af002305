"""Send timing on a hand-built history: local slots across daylight saving, smoothing, fallback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from db.engine import read_session
from tests.support.workspace import NOW, add_contact, add_event, new_engine, workspace_writer
from tools.send_time import best_send_time, next_send_date


@pytest.fixture
def history(tmp_path: Path) -> Iterator[tuple[Session, dict[str, int]]]:
    """New York and Berlin contacts; every send is at a known local weekday and hour.

    New York: Tuesday 10:00 local in July (EDT, 14:00 UTC) and January (EST, 15:00 UTC),
    opened 3 times out of 4; Monday 08:00 local, opened 1 time out of 4.
    Berlin: Thursday 09:00 local (07:00 UTC in July), never opened.
    """
    engine = new_engine(tmp_path)
    with workspace_writer(engine) as s:
        ny = add_contact(s, timezone="America/New_York")
        berlin = add_contact(s, timezone="Europe/Berlin", region="Europe")
        tuesdays = [
            datetime(2026, 7, 7, 14, 0, tzinfo=UTC),
            datetime(2026, 7, 14, 14, 0, tzinfo=UTC),
            datetime(2026, 1, 6, 15, 0, tzinfo=UTC),
            datetime(2026, 1, 13, 15, 0, tzinfo=UTC),
        ]
        for i, sent in enumerate(tuesdays):
            add_event(s, ny, "send", sent, campaign=f"tue{i}")
            if i < 3:
                add_event(s, ny, "open", sent.replace(hour=sent.hour + 1), campaign=f"tue{i}")
        mondays = [datetime(2026, 7, d, 12, 0, tzinfo=UTC) for d in (6, 13, 20, 27)]
        for i, sent in enumerate(mondays):
            add_event(s, ny, "send", sent, campaign=f"mon{i}")
            if i == 0:
                add_event(s, ny, "open", sent.replace(hour=13), campaign=f"mon{i}")
        # An open on another channel for the same campaign does not count.
        add_event(s, ny, "open", mondays[1].replace(hour=13), campaign="mon1", channel="sms")
        for d in (2, 9):
            add_event(s, berlin, "send", datetime(2026, 7, d, 7, 0, tzinfo=UTC), campaign=f"b{d}")
    with read_session(engine) as session:
        yield session, {"ny": ny, "berlin": berlin}
    engine.dispose()


def test_local_slot_respects_daylight_saving(history: tuple[Session, dict[str, int]]) -> None:
    session, ids = history
    result = best_send_time(session, contact_ids=[ids["ny"]], now=NOW, min_sample=4, smoothing=0.0)
    assert (result.send_weekday, result.send_hour_local, result.weekday_name) == (1, 10, "Tuesday")
    assert result.sample_sends == 4
    assert result.expected_open_rate == 0.75
    assert result.global_open_rate == 0.5
    assert [(a.weekday, a.hour, a.expected_open_rate) for a in result.alternatives] == [
        (0, 8, 0.25)
    ]
    assert result.fallback_reason is None


def test_smoothing_pulls_toward_the_global_rate(history: tuple[Session, dict[str, int]]) -> None:
    session, ids = history
    result = best_send_time(session, contact_ids=[ids["ny"]], now=NOW, min_sample=4, smoothing=4.0)
    # (3 + 4 * 0.5) / (4 + 4)
    assert result.expected_open_rate == pytest.approx(0.625)


def test_all_contacts_and_berlin_slots(history: tuple[Session, dict[str, int]]) -> None:
    session, _ = history
    everyone = best_send_time(session, contact_ids=None, now=NOW, min_sample=1, smoothing=0.0)
    assert everyone.total_sends == 10
    slots = {(a.weekday, a.hour): a for a in everyone.alternatives}
    assert slots[(3, 9)].sends == 2 and slots[(3, 9)].expected_open_rate == 0.0


def test_fallback_when_no_slot_has_enough_sends(history: tuple[Session, dict[str, int]]) -> None:
    session, ids = history
    thin = best_send_time(session, contact_ids=[ids["berlin"]], now=NOW)
    assert (thin.send_weekday, thin.send_hour_local) == (1, 10)
    assert thin.fallback_reason is not None and "200" in thin.fallback_reason
    nobody = best_send_time(session, contact_ids=[], now=NOW)
    assert nobody.total_sends == 0 and (nobody.send_weekday, nobody.send_hour_local) == (1, 10)
    assert nobody.fallback_reason is not None
    short = best_send_time(
        session, contact_ids=[ids["ny"]], now=NOW, lookback_days=30, min_sample=1
    )
    assert short.total_sends == 0


def test_next_send_date() -> None:
    saturday = date(2026, 11, 21)
    assert next_send_date(today=saturday, start=None, send_weekday=1) == date(2026, 11, 24)
    assert next_send_date(today=saturday, start=None, send_weekday=6) == date(2026, 11, 22)
    # Never today, even when today is the weekday.
    assert next_send_date(today=saturday, start=None, send_weekday=5) == date(2026, 11, 28)
    assert next_send_date(today=saturday, start=date(2026, 12, 1), send_weekday=1) == date(
        2026, 12, 1
    )
    assert next_send_date(today=saturday, start=date(2026, 11, 1), send_weekday=3) == date(
        2026, 11, 26
    )
    with pytest.raises(ValueError):
        next_send_date(today=saturday, start=None, send_weekday=7)
