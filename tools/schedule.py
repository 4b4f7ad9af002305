"""Scheduling: which messaging channel to lead with, and when each time zone gets a send."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from tools.audience import CHANNEL_LABELS
from tools.id_table import id_table
from workspace.rollups import rollup_connection

MESSAGING_CHANNELS = ("email", "sms", "push")
MIN_SENDS = 100
"""An audience with fewer sends on a channel is judged by the workspace's rates instead."""

RateBasis = Literal["contacts", "workspace", "none"]


# --- Channel mix -----------------------------------------------------------------------


class ChannelStats(BaseModel):
    """One messaging channel for an audience: who can be reached and how it has performed."""

    channel: str
    reachable: int
    """Contacts with consent on the channel, not unsubscribed (and for email, not bounced)."""
    sends: int
    clicks: int
    conversions: int
    """Purchases attributed to the channel (purchase events with this channel)."""
    click_rate: float | None
    """clicks / sends in the lookback window; None without sends."""
    conversion_rate: float | None
    """conversions / sends in the lookback window; None without sends."""
    rate_basis: RateBasis
    """Whose events the counts and rates come from: the audience's, or the whole workspace's
    when the audience has fewer than MIN_SENDS sends on the channel; none without sends."""
    expected_conversions: float | None
    """reachable * conversion_rate: conversions from one message to everyone reachable."""


class ChannelMix(BaseModel):
    """Reach and past performance per messaging channel, and the order to use them in."""

    contacts: int
    """Contacts in scope that exist."""
    lookback_days: int
    channels: list[ChannelStats]
    recommended_order: list[str]
    """Reachable channels, best first: known rates by expected conversions, then the rest."""
    detail: str


def channel_mix(
    session: Session,
    *,
    contact_ids: list[int] | None,
    now: datetime,
    lookback_days: int = 90,
) -> ChannelMix:
    """Compare email, SMS and push for an audience (`contact_ids=None`: every contact).

    Rates count events on the `lookback_days` whole UTC days before `now`'s UTC date:
    click rate = clicks / sends, conversion rate = purchases on the channel / sends. A
    list reads its contacts' events; the workspace's counts come from the daily rollup.
    The recommended order ranks reachable channels by expected conversions = reachable *
    conversion rate (ties: click rate, then reach), then reachable channels without any
    sends, by reach.
    """
    if lookback_days < 1:
        raise ValueError("lookback_days must be at least 1")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    end = now.astimezone(UTC).date()
    start = end - timedelta(days=lookback_days)
    conn = session.connection()
    with id_table(conn, "mix_ids", contact_ids) as ids:
        in_scope = "" if ids is None else f"WHERE c.id IN (SELECT id FROM {ids})"
        contacts, *reach = conn.execute(
            text(
                "SELECT count(*), "
                "coalesce(sum(NOT c.unsubscribed AND c.email_consent AND NOT c.bounced), 0), "
                "coalesce(sum(NOT c.unsubscribed AND c.sms_consent), 0), "
                "coalesce(sum(NOT c.unsubscribed AND c.push_consent), 0) "
                f"FROM contact c {in_scope}"
            )
        ).one()
        own = None if ids is None else _contact_history(conn, ids, start, end)
    # Only channels this audience can be reached on borrow the workspace's rates.
    needs_workspace = own is None or any(
        own[channel][0] < MIN_SENDS and reachable > 0
        for channel, reachable in zip(MESSAGING_CHANNELS, reach, strict=True)
    )
    workspace = _workspace_history(session, start, end) if needs_workspace else {}
    if own is None:
        own = workspace

    channels: list[ChannelStats] = []
    for channel, reachable in zip(MESSAGING_CHANNELS, reach, strict=True):
        basis: RateBasis = "contacts"
        sends, clicks, conversions = own[channel]
        borrow = contact_ids is not None and reachable > 0 and sends < MIN_SENDS
        if borrow and workspace.get(channel, (0, 0, 0))[0] > sends:
            basis = "workspace"
            sends, clicks, conversions = workspace[channel]
        if not sends:
            basis = "none"
        conversion_rate = conversions / sends if sends else None
        channels.append(
            ChannelStats(
                channel=channel,
                reachable=reachable,
                sends=sends,
                clicks=clicks,
                conversions=conversions,
                click_rate=round(clicks / sends, 6) if sends else None,
                conversion_rate=round(conversion_rate, 6) if conversion_rate is not None else None,
                rate_basis=basis,
                expected_conversions=(
                    round(reachable * conversion_rate, 1) if conversion_rate is not None else None
                ),
            )
        )
    order = _recommended_order(channels)
    return ChannelMix(
        contacts=contacts,
        lookback_days=lookback_days,
        channels=channels,
        recommended_order=order,
        detail=_mix_detail(channels, order, lookback_days),
    )


def _contact_history(
    conn: Connection, ids: str, start: date, end: date
) -> dict[str, tuple[int, int, int]]:
    """(sends, clicks, purchases) per messaging channel on the days [start, end), for ids."""
    rows = conn.execute(
        text(
            "SELECT e.channel, sum(e.event = 'send'), sum(e.event = 'click'), "
            "sum(e.event = 'purchase') FROM event e "
            f"WHERE e.contact_id IN (SELECT id FROM {ids}) "
            "AND e.event IN ('send', 'click', 'purchase') "
            "AND e.occurred_at >= :start AND e.occurred_at < :end "
            "AND e.channel IN ('email', 'sms', 'push') GROUP BY e.channel"
        ),
        {"start": start.isoformat(), "end": end.isoformat()},
    ).all()
    return _by_channel(rows)


def _workspace_history(session: Session, start: date, end: date) -> dict[str, tuple[int, int, int]]:
    """(sends, clicks, purchases) per messaging channel on the days [start, end), for all."""
    with rollup_connection(session) as conn:
        rows = conn.execute(
            text(
                "SELECT channel, sum(sends), sum(clicks), sum(purchases) FROM rollup_kpi_day "
                "WHERE day >= :start AND day < :end AND channel IN ('email', 'sms', 'push') "
                "GROUP BY channel"
            ),
            {"start": start.isoformat(), "end": end.isoformat()},
        ).all()
    return _by_channel(rows)


def _by_channel(rows: Sequence[Any]) -> dict[str, tuple[int, int, int]]:
    found = {channel: (0, 0, 0) for channel in MESSAGING_CHANNELS}
    for channel, sends, clicks, purchases in rows:
        found[channel] = (sends or 0, clicks or 0, purchases or 0)
    return found


def _recommended_order(channels: list[ChannelStats]) -> list[str]:
    known = [c for c in channels if c.reachable and c.expected_conversions is not None]
    unknown = [c for c in channels if c.reachable and c.expected_conversions is None]
    known.sort(
        key=lambda c: (
            -(c.expected_conversions or 0.0),
            -(c.click_rate or 0.0),
            -c.reachable,
            MESSAGING_CHANNELS.index(c.channel),
        )
    )
    unknown.sort(key=lambda c: (-c.reachable, MESSAGING_CHANNELS.index(c.channel)))
    return [c.channel for c in known + unknown]


def _mix_detail(channels: list[ChannelStats], order: list[str], lookback_days: int) -> str:
    if not order:
        return "Nobody in this audience can be reached by email, SMS or push."
    by_name = {c.channel: c for c in channels}

    def describe(name: str) -> str:
        c = by_name[name]
        label = CHANNEL_LABELS[name]
        if c.conversion_rate is None:
            return f"{label} ({c.reachable:,} reachable, no sends in the last {lookback_days} days)"
        return (
            f"{label} ({c.reachable:,} reachable, {c.conversion_rate:.2%} conversion per send, "
            f"about {c.expected_conversions:,.1f} expected conversions)"
        )

    sentence = f"Lead with {describe(order[0])}"
    if len(order) > 1:
        sentence += "; then " + "; then ".join(describe(name) for name in order[1:])
    unreachable = [CHANNEL_LABELS[c.channel] for c in channels if not c.reachable]
    if unreachable:
        sentence += f". Nobody is reachable by {' or '.join(unreachable)}"
    return sentence + "."


# --- Send plan -------------------------------------------------------------------------


class TimezoneGroup(BaseModel):
    """Contacts in one time zone and the UTC instant they get the message."""

    timezone: str
    contacts: int
    send_at_utc: datetime
    local_time: str
    """Wall-clock time the message lands at, "HH:MM" in the zone."""
    utc_offset_minutes: int
    in_quiet_hours: bool
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
    contacts_in_quiet_hours: int
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
    contact_ids: list[int],
    send_date: date,
    send_hour_local: int,
    quiet_start: int,
    quiet_end: int,
) -> SendPlan:
    """Group contacts by time zone and give each zone's UTC send instant on `send_date`.

    The instant is `send_date` at `send_hour_local`:00 in the zone, converted with that
    date's UTC offset (zoneinfo), so daylight saving is respected. A local hour skipped by
    a spring-forward lands at the moment clocks jump (e.g. 02:00 -> 03:00); a repeated
    fall-back hour uses its first occurrence. Unknown zones are treated as UTC.
    """
    for name, hour in (
        ("send_hour_local", send_hour_local),
        ("quiet_start", quiet_start),
        ("quiet_end", quiet_end),
    ):
        if not 0 <= hour <= 23:
            raise ValueError(f"{name} must be an hour from 0 to 23")
    distinct = len(set(contact_ids))
    conn = session.connection()
    with id_table(conn, "plan_ids", contact_ids) as ids:
        rows = conn.execute(
            text(
                f"SELECT c.timezone, count(*) FROM {ids} i JOIN contact c ON c.id = i.id "
                "GROUP BY c.timezone ORDER BY c.timezone"
            )
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
    wanted = datetime.combine(send_date, time(hour), tzinfo=zone or UTC)
    send_at = wanted.astimezone(UTC)
    landed = send_at.astimezone(zone or UTC)
    if (landed.date(), landed.hour) != (send_date, hour):
        note = (
            f"{hour:02d}:00 does not exist on {send_date.isoformat()} (clocks go forward); "
            f"lands at {landed:%H:%M}"
        )
    offset = landed.utcoffset() or timedelta(0)
    return TimezoneGroup(
        timezone=zone_name,
        contacts=contacts,
        send_at_utc=send_at,
        local_time=f"{landed:%H:%M}",
        utc_offset_minutes=int(offset.total_seconds() // 60),
        in_quiet_hours=in_quiet_hours(landed.hour, quiet_start, quiet_end),
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
        sentence += f"; {quiet:,} of them would receive it in quiet hours"
    return sentence + "."


# --- Shared ----------------------------------------------------------------------------
