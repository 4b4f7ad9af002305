"""Per-contact rollups: their rows and the answers read from them match the raw events."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Connection
from sqlmodel import Session

from db.engine import read_session, write_session
from db.temp import id_table
from tests.support.workspace import NOW, add_contact, add_event, new_engine, workspace_writer
from tools import channel, churn, rfm
from tools.churn import churn_bands, churn_risk
from tools.members import Members
from tools.rfm import rfm_scores, rfm_tier_counts
from workspace.contact_rollups import (
    CONTACT_ROLLUP_FORMAT,
    CONTACT_ROLLUP_FORMAT_KEY,
    RECENT_DAYS,
    contact_rollups,
)
from workspace.rollups import ensure_rollups

DAY = timedelta(days=1)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[tuple[Session, list[int]]]:
    """Sixty contacts with a year of sends, opens, clicks and purchases, rollups built."""
    rng = random.Random(11)
    engine = new_engine(tmp_path)
    with workspace_writer(engine) as s:
        ids = []
        for n in range(60):
            purchases = sorted(rng.sample(range(1, 365), rng.randint(0, 5)), reverse=True)
            last = NOW - purchases[-1] * DAY if purchases else None
            cid = add_contact(
                s,
                orders=len(purchases) + rng.randint(0, 1),
                lifetime_value=round(rng.uniform(0, 900), 2) if purchases else 0.0,
                last_purchase_at=last if n % 9 else NOW - 400 * DAY,
                unsubscribed=n % 13 == 0,
                sms_consent=n % 2 == 0,
            )
            ids.append(cid)
            for days in purchases:
                add_event(
                    s, cid, "purchase", NOW - days * DAY, channel=rng.choice(["email", "sms"])
                )
            for _ in range(rng.randint(0, 25)):
                at = NOW - timedelta(hours=rng.randint(1, 24 * 200))
                kind = rng.choice(["send", "send", "open", "click"])
                add_event(s, cid, kind, at, channel=rng.choice(["email", "sms", "push"]))
        # A purchase after `now`: the rollup's interval for this contact must not be used.
        add_event(s, ids[1], "purchase", NOW + 2 * DAY)
        add_contact(s)  # never purchased
    with write_session(engine) as s:
        ensure_rollups(s)
    with read_session(engine) as session:
        yield session, ids
    engine.dispose()


def _rows(conn: Connection, sql: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in conn.exec_driver_sql(sql)]


def test_rollup_rows_match_the_events(workspace: tuple[Session, list[int]]) -> None:
    session, ids = workspace
    conn = session.connection()
    rollups = contact_rollups(conn)
    assert rollups is not None
    newest = conn.exec_driver_sql("SELECT max(occurred_at) FROM event").scalar()
    assert (
        rollups.recent_from
        == (date.fromisoformat(str(newest)[:10]) - timedelta(days=RECENT_DAYS)).isoformat()
    )
    # Every purchaser scored as rfm_scores scores it, with its purchase events.
    report = rfm_scores(session, now=NOW, contact_ids=ids)
    scored = {row[0]: row[1:] for row in _rows(conn, "SELECT * FROM rollup_contact_score")}
    assert {s.contact_id: (s.r, s.f, s.m) for s in report.scores if s.r} == {
        cid: values[:3] for cid, values in scored.items()
    }
    purchases = _rows(
        conn,
        "SELECT c.id, count(e.id), min(e.occurred_at), max(e.occurred_at) FROM contact c "
        "LEFT JOIN event e ON e.contact_id = c.id AND e.event = 'purchase' "
        "WHERE c.last_purchase_at IS NOT NULL GROUP BY c.id",
    )
    assert {row[0]: row[1:] for row in purchases} == {
        cid: values[3:] for cid, values in scored.items()
    }
    start = rollups.recent_from
    assert _rows(conn, "SELECT * FROM rollup_recent_engagement") == _rows(
        conn,
        "SELECT contact_id, occurred_at, id, CASE WHEN event = 'click' THEN 2.0 ELSE 1.0 END "
        f"FROM event WHERE event IN ('open', 'click') AND occurred_at >= '{start}' "
        "ORDER BY contact_id, occurred_at, id",
    )
    assert _rows(conn, "SELECT * FROM rollup_contact_day ORDER BY 1, 2, 3") == _rows(
        conn,
        "SELECT contact_id, substr(occurred_at, 1, 10) AS day, channel, sum(event = 'send'), "
        "sum(event = 'click'), sum(event = 'purchase') FROM event "
        f"WHERE event IN ('send', 'click', 'purchase') AND occurred_at >= '{start}' "
        "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    assert _rows(conn, "SELECT * FROM rollup_contact_channel") == _rows(
        conn,
        "SELECT contact_id, channel, sum(event = 'send'), sum(event = 'click'), "
        "sum(event = 'purchase') FROM event "
        f"WHERE event IN ('send', 'click', 'purchase') AND occurred_at >= '{start}' "
        "GROUP BY 1, 2 ORDER BY 1, 2",
    )


def _answers(session: Session, ids: list[int]) -> dict[str, object]:
    conn = session.connection()
    end = NOW.date()
    with id_table(conn, "some_ids", ids) as members:
        return {
            "cuts": rfm._cut_points(conn),
            "tiers": rfm_tier_counts(conn, members),
            # A plan's `now` is a UTC midnight; the fixture's is noon: both are exact.
            "bands": [
                churn_bands(conn, members, now=moment).model_dump()
                for moment in (NOW, NOW - NOW.hour * timedelta(hours=1), NOW - 20 * DAY)
            ],
            "history": channel._contact_history(conn, Members(members), end - 90 * DAY, end),
            "scores": churn_risk(session, now=NOW, contact_ids=ids).scores,
        }


def test_tools_read_from_the_rollups_give_the_events_answers(
    workspace: tuple[Session, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, ids = workspace
    assert contact_rollups(session.connection()) is not None
    rfm._CUTS.clear()
    rolled = _answers(session, ids)
    rfm._CUTS.clear()
    for module in (rfm, churn, channel):
        monkeypatch.setattr(module, "contact_rollups", lambda conn: None)
    direct = _answers(session, ids)
    rfm._CUTS.clear()
    assert rolled == direct
    assert sum(rolled["tiers"].values()) == len(ids)  # type: ignore[attr-defined]
    assert any(s.interval_days != 90.0 for s in rolled["scores"])  # type: ignore[attr-defined]


def test_rollups_are_read_only_for_the_version_they_were_built_from(
    workspace: tuple[Session, list[int]],
) -> None:
    session, ids = workspace
    engine = session.get_bind()
    session.close()
    with workspace_writer(engine) as s:  # type: ignore[arg-type]
        add_event(s, ids[0], "click", NOW - DAY)
    with read_session(engine) as reader:  # type: ignore[arg-type]
        assert contact_rollups(reader.connection()) is None
    with write_session(engine) as s:  # type: ignore[arg-type]
        ensure_rollups(s)
    with read_session(engine) as reader:  # type: ignore[arg-type]
        rollups = contact_rollups(reader.connection())
        assert rollups is not None
        clicked = reader.connection().exec_driver_sql(
            "SELECT count(*) FROM rollup_recent_engagement WHERE contact_id = ?", (ids[0],)
        )
        assert clicked.scalar_one() >= 1


def test_channel_history_of_any_window_the_rollups_cover_is_the_events(
    workspace: tuple[Session, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows read as per-contact totals less the days outside, or as the days in them."""
    session, ids = workspace
    conn = session.connection()
    rollups = contact_rollups(conn)
    assert rollups is not None and rollups.span() is not None
    first, last = rollups.span()  # type: ignore[misc]
    windows = [
        (first, last + DAY),  # the whole span: the totals alone
        (first + 3 * DAY, last + 5 * DAY),  # days before it only
        (first, last - 4 * DAY),  # days after it only
        (first + 6 * DAY, last - 2 * DAY),  # both
        (last - 10 * DAY, last),  # short: the days in it
    ]
    assert [rollups.reads_totals(start, end) for start, end in windows] == [
        True,
        True,
        True,
        True,
        False,
    ]
    with id_table(conn, "some_ids", ids[::2]) as members:
        rolled = [channel._contact_history(conn, Members(members), *w) for w in windows]
        monkeypatch.setattr(channel, "contact_rollups", lambda conn: None)
        direct = [channel._contact_history(conn, Members(members), *w) for w in windows]
    assert rolled == direct
    assert all(any(sends for sends, _, _ in h.values()) for h in direct)


def test_rollups_of_another_format_are_not_read(workspace: tuple[Session, list[int]]) -> None:
    session, _ = workspace
    engine = session.get_bind()
    session.close()
    for stamp, readable in (("1", False), (CONTACT_ROLLUP_FORMAT, True)):
        with write_session(engine) as s:  # type: ignore[arg-type]
            s.connection().exec_driver_sql(
                "UPDATE meta SET value = ? WHERE key = ?", (stamp, CONTACT_ROLLUP_FORMAT_KEY)
            )
        with read_session(engine) as reader:  # type: ignore[arg-type]
            assert (contact_rollups(reader.connection()) is not None) is readable
