"""Send plan: when each time zone gets a message at one local hour, in UTC, outside quiet hours."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import Session

from tools.members import member_scope


class TimezoneGroup(BaseModel):
    """Contacts in one time zone and the UTC instant they get the message."""

    timezone: str
    contacts: int
    planned_at_utc: datetime
    """`send_hour_local` on the send date in the zone (where clocks jump: the jump)."""
    send_at_utc: datetime
    """When the message goes out: the planned instant, or the end of quiet hours."""
    local_time: str
    """Wall-clock time the message lands at, "HH:MM" in the zone."""
    utc_offset_minutes: int
    """The zone's UTC offset at `send_at_utc`."""
    in_quiet_hours: bool
    """The planned local time fell in quiet hours, so the send moved to their end."""
    note: str | None = None
    """Why the zone deviates: unknown zone read as UTC, or a local hour skipped by DST."""


class SendWave(BaseModel):
    """One UTC instant of the plan and who receives at it."""

    send_at_utc: datetime
    contacts: int
    timezones: list[str]


class SendPlan(BaseModel):
    """When each time zone gets a send at the same local hour, as waves in UTC."""

    send_date: date
    send_hour_local: int
    quiet_start: int
    quiet_end: int
    contacts: int
    """Distinct contacts found; the groups and the waves each add up to this."""
    missing: int
    """Distinct ids with no contact row."""
    groups: list[TimezoneGroup]
    waves: list[SendWave]
    """UTC instants in time order."""
    first_send_utc: datetime | None
    """The first wave's instant; None without contacts."""
    last_send_utc: datetime | None
    contacts_in_quiet_hours: int
    """Contacts whose planned local time fell in quiet hours (each moved to their end)."""
    detail: str


def in_quiet_hours(hour: int, quiet_start: int, quiet_end: int) -> bool:
    """Whether a local hour falls in [quiet_start, quiet_end), wrapping past midnight.

    quiet_start == quiet_end means no quiet hours.
    """
    if quiet_start == quiet_end:
        return False
    if quiet_start < quiet_end:
        return quiet_start <= hour < quiet_end
    return hour >= quiet_start or hour < quiet_end


def send_plan(
    session: Session,
    *,
    contact_ids: list[int] | None = None,
    segment_action_id: str | None = None,
    send_date: date,
    send_hour_local: int,
    quiet_start: int,
    quiet_end: int,
) -> SendPlan:
    """Group contacts by time zone and give each zone's UTC send instant on `send_date`.

    The instant is `send_date` at `send_hour_local`:00 in the zone, converted with that
    date's UTC offset (zoneinfo), so daylight saving is respected. A local hour skipped by
    a spring-forward lands at the moment clocks jump (e.g. 02:00 -> 03:00); a repeated
    fall-back hour uses its first occurrence. Unknown zones are treated as UTC. A zone
    whose local time lands in quiet hours is moved to the end of the quiet window (the
    next day's when the window wraps past midnight and the time is before midnight).

    The contacts are `contact_ids`, or the stored members of executed segment action
    `segment_action_id` (read in place).
    """
    for name, hour in (
        ("send_hour_local", send_hour_local),
        ("quiet_start", quiet_start),
        ("quiet_end", quiet_end),
    ):
        if not 0 <= hour <= 23:
            raise ValueError(f"{name} must be an hour from 0 to 23")
    if (contact_ids is None) == (segment_action_id is None):
        raise ValueError("give contact_ids or segment_action_id")
    conn = session.connection()
    with member_scope(
        conn, "plan_ids", contact_ids=contact_ids, segment_action_id=segment_action_id
    ) as members:
        distinct = conn.execute(
            text(f"SELECT count(*) FROM {members.source}"), members.params
        ).scalar_one()
        rows = conn.execute(
            text(
                f"SELECT c.timezone, count(*) FROM {members.source} i "
                "JOIN contact c ON c.id = i.id GROUP BY c.timezone ORDER BY c.timezone"
            ),
            members.params,
        ).all()

    groups = [
        _zone_group(zone, count, send_date, send_hour_local, quiet_start, quiet_end)
        for zone, count in rows
    ]
    groups.sort(key=lambda g: (g.send_at_utc, g.timezone))
    by_instant: dict[datetime, list[TimezoneGroup]] = defaultdict(list)
    for group in groups:
        by_instant[group.send_at_utc].append(group)
    waves = [
        SendWave(
            send_at_utc=instant,
            contacts=sum(g.contacts for g in members),
            timezones=[g.timezone for g in members],
        )
        for instant, members in sorted(by_instant.items())
    ]
    found = sum(g.contacts for g in groups)
    quiet = sum(g.contacts for g in groups if g.in_quiet_hours)
    return SendPlan(
        send_date=send_date,
        send_hour_local=send_hour_local,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        contacts=found,
        missing=distinct - found,
        groups=groups,
        waves=waves,
        first_send_utc=waves[0].send_at_utc if waves else None,
        last_send_utc=waves[-1].send_at_utc if waves else None,
        contacts_in_quiet_hours=quiet,
        detail=_plan_detail(waves, found, quiet, send_date, send_hour_local),
    )


def _zone_group(
    zone_name: str,
    contacts: int,
    send_date: date,
    hour: int,
    quiet_start: int,
    quiet_end: int,
) -> TimezoneGroup:
    note = None
    try:
        zone: ZoneInfo | None = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone, note = None, f"unknown time zone {zone_name!r}; sent as UTC"
    tz = zone or UTC
    planned = datetime.combine(send_date, time(hour), tzinfo=tz).astimezone(UTC)
    landed = planned.astimezone(tz)
    if (landed.date(), landed.hour) != (send_date, hour):
        note = (
            f"{hour:02d}:00 does not exist on {send_date.isoformat()} (clocks go forward); "
            f"lands at {landed:%H:%M}"
        )
    quiet = in_quiet_hours(landed.hour, quiet_start, quiet_end)
    send_at = planned
    if quiet:
        day = landed.date()
        if quiet_start > quiet_end and landed.hour >= quiet_start:
            day += timedelta(days=1)
        send_at = datetime.combine(day, time(quiet_end), tzinfo=tz).astimezone(UTC)
        landed = send_at.astimezone(tz)
    offset = landed.utcoffset() or timedelta(0)
    return TimezoneGroup(
        timezone=zone_name,
        contacts=contacts,
        planned_at_utc=planned,
        send_at_utc=send_at,
        local_time=f"{landed:%H:%M}",
        utc_offset_minutes=int(offset.total_seconds() // 60),
        in_quiet_hours=quiet,
        note=note,
    )


def _plan_detail(
    waves: list[SendWave], contacts: int, quiet: int, send_date: date, hour: int
) -> str:
    if not waves:
        return "No contacts to schedule."
    first, last = waves[0].send_at_utc, waves[-1].send_at_utc
    plural = "wave" if len(waves) == 1 else "waves"
    sentence = (
        f"{contacts:,} contacts get the message at {hour:02d}:00 local on "
        f"{send_date.isoformat()} in {len(waves)} {plural}, from {first:%Y-%m-%d %H:%M} to "
        f"{last:%Y-%m-%d %H:%M} UTC"
    )
    if quiet:
        sentence += f"; {quiet:,} of them moved out of quiet hours"
    return sentence + "."
