"""Rollups: rebuild the derived tables from events, and keep them in step with the workspace.

Writers of contacts, events or spend call `db.workspace.touch_workspace`; the rollups
record the workspace version they were built from, and `ensure_rollups` rebuilds them
when the two differ. Tools read rollups through `rollup_connection`, which also copes
with a caller whose read snapshot predates the rebuild.
"""

from __future__ import annotations

import secrets
import time as clock
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel

from db.dialect import (
    add_minutes_sql,
    char_sql,
    flag_sql,
    hour_sql,
    insert_adding_sql,
    insert_ignoring_sql,
    not_indexed,
    ordered_join,
    string_agg_sql,
    utc_day_sql,
    utc_minute_of_day_sql,
    weekday_sql,
)
from db.engine import holds_write_lock, write_session
from db.rollups import SLOT_CODE_BASE, rollup_tables
from db.temp import create_temp_table, drop_temp_table, temp_name
from db.workspace import VERSION_KEY
from workspace.contact_rollups import refresh_contact_rollups

ROLLUP_VERSION_KEY = "rollups_workspace_version"
"""Meta key: the workspace version the rollups were built from."""
ROLLUP_BUILD_KEY = "rollups_build"
"""Meta key: a fresh token per rebuild, so caches of derived results can tell builds apart."""
ROLLUP_RECENT_KEY = "rollups_recent_sends_from"
"""Meta key: the UTC day from which `rollup_recent_send` holds every send ("" = all time)."""
RECENT_SEND_DAYS = 8
"""Days of sends kept before the newest one's day: a 7-day cap window, and a day to spare."""
FRESHNESS_ATTEMPTS = 3


class RollupStats(BaseModel):
    """What one rebuild wrote."""

    workspace_version: str
    build: str
    kpi_rows: int
    send_rows: int
    profile_rows: int
    recent_send_rows: int
    seconds: float


class RollupState(BaseModel):
    """The workspace version a connection sees, and the one its rollups were built from."""

    workspace_version: str
    built_from: str | None
    build: str | None
    recent_from: str | None
    """The day from which the recent-sends rollup is complete (None before any build)."""

    @property
    def fresh(self) -> bool:
        return self.built_from == self.workspace_version


def rollup_state(conn: Connection) -> RollupState:
    """Read the versions in one statement, so both come from the same snapshot."""
    rows: dict[str, str] = dict(
        conn.exec_driver_sql(
            "SELECT key, value FROM meta WHERE key IN (?, ?, ?, ?)",
            (VERSION_KEY, ROLLUP_VERSION_KEY, ROLLUP_BUILD_KEY, ROLLUP_RECENT_KEY),
        ).all()
    )
    return RollupState(
        workspace_version=rows.get(VERSION_KEY, ""),
        built_from=rows.get(ROLLUP_VERSION_KEY),
        build=rows.get(ROLLUP_BUILD_KEY),
        recent_from=rows.get(ROLLUP_RECENT_KEY),
    )


def refresh_rollups(session: Session) -> RollupStats:
    """Rebuild every rollup from the events, in the session's transaction (the caller commits)."""
    started = clock.perf_counter()
    session.flush()
    conn = session.connection()
    SQLModel.metadata.create_all(conn, tables=rollup_tables())
    version = rollup_state(conn).workspace_version
    for table in rollup_tables():
        conn.exec_driver_sql(f"DELETE FROM {table.name}")
    conn.exec_driver_sql(KPI_DAY_SQL)
    kpi_rows = conn.exec_driver_sql("SELECT count(*) FROM rollup_kpi_day").scalar_one()
    try:
        _load_send_context(conn)
        send_rows = conn.exec_driver_sql(SEND_SLOT_SQL).rowcount
    finally:
        drop_temp_table(conn, "rollup_offsets")
        drop_temp_table(conn, "rollup_opened")
    # One pass per channel reads the slots in key order, so grouping needs no sort.
    channels = [
        row[0]
        for row in conn.exec_driver_sql(
            "SELECT DISTINCT channel FROM rollup_kpi_day WHERE sends > 0 ORDER BY channel"
        )
    ]
    profile_rows = sum(
        conn.exec_driver_sql(SEND_PROFILE_SQL, (channel, SLOT_CODE_BASE, channel)).rowcount
        for channel in channels
    )
    recent_from = _recent_from(_send_bound(conn, "DESC"))
    recent_rows = conn.exec_driver_sql(RECENT_SEND_SQL, (recent_from,)).rowcount
    refresh_contact_rollups(conn, version=version)
    build = secrets.token_hex(8)
    conn.exec_driver_sql(
        "INSERT INTO meta (key, value) VALUES (?, ?), (?, ?), (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (ROLLUP_VERSION_KEY, version, ROLLUP_BUILD_KEY, build, ROLLUP_RECENT_KEY, recent_from),
    )
    return RollupStats(
        workspace_version=version,
        build=build,
        kpi_rows=kpi_rows,
        send_rows=send_rows,
        profile_rows=profile_rows,
        recent_send_rows=recent_rows,
        seconds=round(clock.perf_counter() - started, 3),
    )


def ensure_rollups(session: Session) -> None:
    """Rebuild the rollups if they were built from another workspace version than the current.

    In a write session the rebuild joins the caller's transaction. Otherwise it commits
    on a connection of its own, so that readers (whose transactions only roll back)
    rebuild once and not on every call; see `rollup_connection` for reading them.
    """
    session.flush()  # the SQL below must see what the session has written
    conn = session.connection()
    if rollup_state(conn).fresh:
        return
    if holds_write_lock(conn):
        refresh_rollups(session)
    else:
        _refresh_on_own_connection(conn.engine)


@contextmanager
def rollup_connection(session: Session) -> Iterator[Connection]:
    """A connection whose snapshot holds rollups built from the workspace data it sees.

    Usually the session's own. When the session's read snapshot is older than a rebuild
    that `ensure_rollups` just committed, a fresh snapshot on another connection is used
    instead: it sees the same workspace data (or newer, if a writer got in between).
    """
    ensure_rollups(session)
    conn = session.connection()
    if rollup_state(conn).fresh:
        yield conn
        return
    with conn.engine.connect() as other:
        for _ in range(FRESHNESS_ATTEMPTS):
            with other.begin():
                if rollup_state(other).fresh:
                    yield other
                    return
            _refresh_on_own_connection(other.engine)
    raise RuntimeError("the workspace kept changing while the rollups were rebuilt")


def _recent_from(last_send: str | None) -> str:
    """The first day the recent-sends rollup keeps ("" keeps all: no or unreadable sends)."""
    try:
        newest = date.fromisoformat(str(last_send)[:10])
    except ValueError:
        return ""
    return (newest - timedelta(days=RECENT_SEND_DAYS)).isoformat()


def _refresh_on_own_connection(engine: Engine) -> None:
    with write_session(engine) as writer:
        if not rollup_state(writer.connection()).fresh:
            refresh_rollups(writer)


def _load_send_context(conn: Connection) -> None:
    """Temp tables for the send rollup: zone offsets per UTC day, and opened campaigns."""
    days = _send_days(conn)
    zones = [row[0] for row in conn.exec_driver_sql("SELECT DISTINCT timezone FROM contact")]
    offsets_table = create_temp_table(
        conn,
        "rollup_offsets",
        "timezone TEXT, day TEXT, weekday INTEGER, minutes INTEGER",
        key="timezone, day",
    )
    offsets = zone_offsets(zones, days)
    if offsets:
        conn.exec_driver_sql(
            f"INSERT INTO {offsets_table} (timezone, day, weekday, minutes) VALUES (?, ?, ?, ?)",
            offsets,
        )
    opened_table = create_temp_table(
        conn,
        "rollup_opened",
        "contact_id INTEGER, channel TEXT, campaign TEXT",
        key="contact_id, channel, campaign",
    )
    # One pass over the table beats an index lookup per open; sorted, the keys go in in order.
    conn.exec_driver_sql(
        insert_ignoring_sql(
            opened_table,
            ("contact_id", "channel", "campaign"),
            f"SELECT contact_id, channel, campaign FROM {not_indexed('event')} "
            "WHERE event = 'open' ORDER BY contact_id, channel, campaign",
        )
    )


def _send_days(conn: Connection) -> list[date]:
    """Every UTC day from the first send to the last (or each day seen, if some is unreadable)."""
    bounds = [_send_bound(conn, "ASC"), _send_bound(conn, "DESC")]
    if bounds[0] is None:
        return []
    try:
        first, last = (date.fromisoformat(str(bound)[:10]) for bound in bounds)
    except ValueError:
        days = []
        for (text,) in conn.exec_driver_sql(
            f"SELECT DISTINCT {utc_day_sql('occurred_at')} FROM event WHERE event = 'send'"
        ):
            try:
                days.append(date.fromisoformat(text))
            except (TypeError, ValueError):
                continue  # unreadable times are placed by add_minutes_sql in SQL, as UTC
        return days
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _send_bound(conn: Connection, direction: str) -> str | None:
    """The first ("ASC") or last ("DESC") send time, as stored."""
    return conn.exec_driver_sql(
        "SELECT occurred_at FROM event WHERE event = 'send' "
        f"ORDER BY occurred_at {direction} LIMIT 1"
    ).scalar()


def zone_offsets(zones: list[str], days: list[date]) -> list[tuple[str, str, int, int]]:
    """(zone, ISO day, weekday, minutes ahead of UTC at noon UTC) for every zone and day.

    Noon UTC is right for every hour of the day except around a daylight-saving switch.
    Unknown zones read as UTC. Weekday 0 is Monday.
    """
    rows: list[tuple[str, str, int, int]] = []
    for name in zones:
        try:
            zone: ZoneInfo | None = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            zone = None
        for day in days:
            minutes = 0
            if zone is not None:
                noon = datetime.combine(day, time(12), tzinfo=UTC).astimezone(zone)
                offset = noon.utcoffset()
                minutes = int(offset.total_seconds() // 60) if offset is not None else 0
            rows.append((name, day.isoformat(), day.weekday(), minutes))
    return rows


# A year of events falls in a few thousand groups: adding each row into its group costs
# far less than sorting ten million rows for a GROUP BY.
KPI_DAY_SQL = insert_adding_sql(
    "rollup_kpi_day",
    keys=("day", "channel", "campaign", "variant"),
    sums=("sends", "opens", "clicks", "purchases", "revenue"),
    rows=f"""
SELECT {utc_day_sql("occurred_at")}, channel, campaign, variant, {flag_sql("event = 'send'")},
    {flag_sql("event = 'open'")}, {flag_sql("event = 'click'")}, {flag_sql("event = 'purchase'")},
    CASE WHEN event = 'purchase' THEN revenue ELSE 0 END
FROM {not_indexed("event")}
WHERE event IN ('send', 'open', 'click', 'purchase')
""",
)

# The local time is the UTC time moved by the zone's offset on the send's UTC day, and
# a send counts as opened if the contact opened that campaign on that channel at all.
SEND_SLOT_SQL = f"""
INSERT INTO rollup_send_slot (contact_id, occurred_at, event_id, channel, code)
SELECT contact_id, occurred_at, id, channel,
    CASE WHEN minute_of_week IS NOT NULL
        THEN ((minute_of_week / 1440) * 24 + (minute_of_week % 1440) / 60) * 2 + opened
        ELSE ({weekday_sql("local_at")} * 24 + {hour_sql("local_at")}) * 2 + opened
    END
FROM (
    SELECT c.id AS contact_id, e.occurred_at, e.id, e.channel,
        {flag_sql("o.contact_id IS NOT NULL")} AS opened,
        -- Shift the UTC minute of the week by the offset (the same as add_minutes_sql,
        -- cheaper); NULL when the stored time cannot be read that way.
        (z.weekday * 1440 + {utc_minute_of_day_sql("e.occurred_at")} + z.minutes + 10080)
            % 10080 AS minute_of_week,
        {add_minutes_sql("e.occurred_at", "coalesce(z.minutes, 0)")} AS local_at
    FROM contact c
    {ordered_join()} event e ON e.contact_id = c.id AND e.event = 'send'
    LEFT JOIN {temp_name("rollup_offsets")} z
        ON z.timezone = c.timezone AND z.day = {utc_day_sql("e.occurred_at")}
    LEFT JOIN {temp_name("rollup_opened")} o
        ON o.contact_id = e.contact_id AND o.channel = e.channel AND o.campaign = e.campaign
)
ORDER BY contact_id, occurred_at, id
"""

SEND_PROFILE_SQL = f"""
INSERT INTO rollup_send_profile (contact_id, channel, first_at, last_at, sends, codes)
SELECT contact_id, ?, min(occurred_at), max(occurred_at), count(*),
    {string_agg_sql(char_sql("? + code"), "''")}
FROM rollup_send_slot
WHERE channel = ? AND code IS NOT NULL
GROUP BY contact_id
"""

RECENT_SEND_SQL = """
INSERT INTO rollup_recent_send (contact_id, occurred_at, event_id)
SELECT contact_id, occurred_at, id FROM event
WHERE event = 'send' AND occurred_at >= ?
ORDER BY contact_id, occurred_at, id
"""
