"""Send timing: the local weekday and hour at which an audience opens best, and the next date."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FALLBACK_SLOT = (1, 10)
"""Tuesday 10:00 local: the conventional default when the data cannot pick a slot."""
ALTERNATIVES = 5


class SlotRate(BaseModel):
    """One local weekday/hour slot and its smoothed open rate."""

    weekday: int
    """0 = Monday."""
    weekday_name: str
    hour: int
    """0-23, in each contact's local time."""
    expected_open_rate: float
    sends: int
    opens: int


class SendTimeResult(BaseModel):
    """The best local send slot for an audience, with the evidence behind it."""

    channel: str
    send_weekday: int
    """0 = Monday."""
    send_hour_local: int
    weekday_name: str
    expected_open_rate: float
    """The winning slot's open rate, smoothed toward the global rate."""
    sample_sends: int
    """Sends observed in the winning slot."""
    global_open_rate: float
    total_sends: int
    lookback_days: int
    alternatives: list[SlotRate]
    """The next best eligible slots, best first."""
    fallback_reason: str | None = None
    """Why the default slot (Tuesday 10:00 local) was used; None when the data chose."""


def best_send_time(
    session: Session,
    *,
    contact_ids: list[int] | None,
    channel: str = "email",
    now: datetime,
    lookback_days: int = 365,
    min_sample: int = 200,
    smoothing: float = 200.0,
) -> SendTimeResult:
    """Find the local weekday and hour with the best smoothed open rate for these contacts.

    Each send in the lookback window is placed in the contact's local weekday and
    hour (using the zone's UTC offset on the day of the send, so daylight saving is
    respected) and counts as opened if the contact opened that campaign. A slot's rate
    is (opens + smoothing * global) / (sends + smoothing); only slots with at least
    `min_sample` sends may win. `contact_ids=None` means every contact.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if lookback_days < 1:
        raise ValueError("lookback_days must be at least 1")
    if smoothing < 0 or min_sample < 0:
        raise ValueError("smoothing and min_sample must not be negative")
    conn = session.connection()
    start = now - timedelta(days=lookback_days)
    id_join = "" if contact_ids is None else "JOIN temp.send_time_ids i ON i.id = e.contact_id"
    try:
        _load_offsets(conn, start.astimezone(UTC).date(), now.astimezone(UTC).date())
        if contact_ids is not None:
            conn.exec_driver_sql("DROP TABLE IF EXISTS temp.send_time_ids")
            conn.exec_driver_sql("CREATE TEMP TABLE send_time_ids (id INTEGER PRIMARY KEY)")
        if contact_ids:
            conn.exec_driver_sql(
                "INSERT OR IGNORE INTO temp.send_time_ids (id) VALUES (?)",
                [(cid,) for cid in contact_ids],
            )
        rows = conn.execute(
            text(f"""
            WITH sends AS (
                SELECT
                    datetime(e.occurred_at, printf('%+d minutes', coalesce(z.minutes, 0)))
                        AS local_at,
                    EXISTS (SELECT 1 FROM event o WHERE o.contact_id = e.contact_id
                            AND o.event = 'open' AND o.channel = e.channel
                            AND o.campaign = e.campaign) AS opened
                FROM event e
                {id_join}
                JOIN contact c ON c.id = e.contact_id
                LEFT JOIN temp.send_time_offsets z
                    ON z.timezone = c.timezone AND z.day = substr(e.occurred_at, 1, 10)
                WHERE e.event = 'send' AND e.channel = :channel
                    AND e.occurred_at >= :start AND e.occurred_at < :now
            )
            SELECT (CAST(strftime('%w', local_at) AS INTEGER) + 6) % 7 AS weekday,
                CAST(strftime('%H', local_at) AS INTEGER) AS hour,
                count(*) AS sends, sum(opened) AS opens
            FROM sends GROUP BY weekday, hour
            """),
            {"channel": channel, "start": _utc_text(start), "now": _utc_text(now)},
        ).all()
    finally:
        conn.exec_driver_sql("DROP TABLE IF EXISTS temp.send_time_offsets")
        conn.exec_driver_sql("DROP TABLE IF EXISTS temp.send_time_ids")

    total_sends = sum(row.sends for row in rows)
    total_opens = sum(row.opens for row in rows)
    global_rate = total_opens / total_sends if total_sends else 0.0

    def rate(sends: int, opens: int) -> float:
        return (opens + smoothing * global_rate) / (sends + smoothing) if sends + smoothing else 0.0

    slots = [
        SlotRate(
            weekday=row.weekday,
            weekday_name=WEEKDAY_NAMES[row.weekday],
            hour=row.hour,
            expected_open_rate=round(rate(row.sends, row.opens), 4),
            sends=row.sends,
            opens=row.opens,
        )
        for row in rows
    ]
    # Ties break toward more evidence, then the earlier slot, so the answer is stable.
    slots.sort(key=lambda s: (-rate(s.sends, s.opens), -s.sends, s.weekday, s.hour))
    eligible = [s for s in slots if s.sends >= min_sample]
    common = {
        "channel": channel,
        "global_open_rate": round(global_rate, 4),
        "total_sends": total_sends,
        "lookback_days": lookback_days,
    }
    if eligible:
        best = eligible[0]
        return SendTimeResult(
            send_weekday=best.weekday,
            send_hour_local=best.hour,
            weekday_name=best.weekday_name,
            expected_open_rate=best.expected_open_rate,
            sample_sends=best.sends,
            alternatives=eligible[1 : 1 + ALTERNATIVES],
            **common,
        )
    weekday, hour = FALLBACK_SLOT
    seen = next((s for s in slots if (s.weekday, s.hour) == FALLBACK_SLOT), None)
    reason = (
        f"No {channel} sends in the last {lookback_days} days."
        if not total_sends
        else f"No local slot has at least {min_sample} {channel} sends in the last "
        f"{lookback_days} days."
    )
    return SendTimeResult(
        send_weekday=weekday,
        send_hour_local=hour,
        weekday_name=WEEKDAY_NAMES[weekday],
        expected_open_rate=seen.expected_open_rate if seen else round(global_rate, 4),
        sample_sends=seen.sends if seen else 0,
        alternatives=slots[:ALTERNATIVES],
        fallback_reason=reason,
        **common,
    )


def next_send_date(*, today: date, start: date | None, send_weekday: int) -> date:
    """The first date on or after max(tomorrow, start) that falls on `send_weekday`."""
    if not 0 <= send_weekday <= 6:
        raise ValueError("send_weekday must be 0 (Monday) to 6 (Sunday)")
    first = today + timedelta(days=1)
    if start is not None and start > first:
        first = start
    return first + timedelta(days=(send_weekday - first.weekday()) % 7)


def _load_offsets(conn: Connection, first: date, last: date) -> None:
    """Fill temp.send_time_offsets with each contact timezone's UTC offset per UTC day."""
    zones = [row[0] for row in conn.exec_driver_sql("SELECT DISTINCT timezone FROM contact")]
    rows: list[tuple[str, str, int]] = []
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    for name in zones:
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue  # unknown zones read as UTC through the LEFT JOIN's default
        for day in days:
            # Offset at noon UTC: right for every hour of the day except around a switch.
            moment = datetime.combine(day, time(12), tzinfo=UTC).astimezone(zone)
            offset = moment.utcoffset()
            minutes = int(offset.total_seconds() // 60) if offset is not None else 0
            rows.append((name, day.isoformat(), minutes))
    conn.exec_driver_sql("DROP TABLE IF EXISTS temp.send_time_offsets")
    conn.exec_driver_sql(
        "CREATE TEMP TABLE send_time_offsets (timezone TEXT, day TEXT, minutes INTEGER, "
        "PRIMARY KEY (timezone, day))"
    )
    if rows:
        conn.exec_driver_sql(
            "INSERT INTO temp.send_time_offsets (timezone, day, minutes) VALUES (?, ?, ?)", rows
        )


def _utc_text(moment: datetime) -> str:
    """A datetime in the text form SQLite holds (UTC), so SQL can compare strings."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
