"""Channel mix: which messaging channels an audience can be reached on, and how each has done."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from db.dialect import count_where_sql
from tools.audience import CHANNEL_LABELS
from tools.members import Members, member_scope
from workspace.contact_rollups import contact_rollups
from workspace.rollups import rollup_connection

MESSAGING_CHANNELS = ("email", "sms", "push")
MIN_SENDS = 100
"""An audience with fewer sends on a channel is judged by the workspace's rates instead."""

RateBasis = Literal["contacts", "workspace", "none"]


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
    segment_action_id: str | None = None,
    now: datetime,
    lookback_days: int = 90,
    channels: Sequence[str] = MESSAGING_CHANNELS,
) -> ChannelMix:
    """Compare messaging channels for an audience: `contact_ids`, or the stored members of
    executed segment action `segment_action_id`; neither means every contact.

    `channels` (email, SMS and push unless narrowed) are the ones compared and ranked.

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
    unknown = [c for c in channels if c not in MESSAGING_CHANNELS]
    if unknown or not channels:
        raise ValueError(f"channels must be some of {', '.join(MESSAGING_CHANNELS)}")
    wanted = [c for c in MESSAGING_CHANNELS if c in channels]
    end = now.astimezone(UTC).date()
    start = end - timedelta(days=lookback_days)
    conn = session.connection()
    scoped = contact_ids is not None or segment_action_id is not None
    with member_scope(
        conn, "mix_ids", contact_ids=contact_ids, segment_action_id=segment_action_id
    ) as members:
        reachable_sql = ", ".join(
            f"coalesce({count_where_sql(condition)}, 0)"
            for condition in (
                "NOT c.unsubscribed AND c.email_consent AND NOT c.bounced",
                "NOT c.unsubscribed AND c.sms_consent",
                "NOT c.unsubscribed AND c.push_consent",
            )
        )
        contacts, *reach = conn.execute(
            text(
                f"SELECT count(*), {reachable_sql} FROM contact c WHERE 1 = 1 "
                f"{members.filter('c.id')}"
            ),
            members.params,
        ).one()
        own = _contact_history(conn, members, start, end) if scoped else None
    reachable_by = {c: n for c, n in zip(MESSAGING_CHANNELS, reach, strict=True) if c in wanted}
    # Only channels this audience can be reached on borrow the workspace's rates.
    needs_workspace = own is None or any(
        own[channel][0] < MIN_SENDS and reachable > 0 for channel, reachable in reachable_by.items()
    )
    workspace = _workspace_history(session, start, end) if needs_workspace else {}
    if own is None:
        own = workspace

    stats: list[ChannelStats] = []
    for channel, reachable in reachable_by.items():
        basis: RateBasis = "contacts"
        sends, clicks, conversions = own[channel]
        borrow = scoped and reachable > 0 and sends < MIN_SENDS
        if borrow and workspace.get(channel, (0, 0, 0))[0] > sends:
            basis = "workspace"
            sends, clicks, conversions = workspace[channel]
        if not sends:
            basis = "none"
        conversion_rate = conversions / sends if sends else None
        stats.append(
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
    order = _recommended_order(stats)
    return ChannelMix(
        contacts=contacts,
        lookback_days=lookback_days,
        channels=stats,
        recommended_order=order,
        detail=_mix_detail(stats, order, lookback_days),
    )


def _contact_history(
    conn: Connection, members: Members, start: date, end: date
) -> dict[str, tuple[int, int, int]]:
    """(sends, clicks, purchases) per messaging channel on the days [start, end), for members.

    From the per-contact rollups when they are current and reach back to `start`: the
    per-contact totals less the days outside the window when those are fewer than the days
    in it (a few rows per member instead of one per day), else the days in the window.
    """
    rollups = contact_rollups(conn)
    in_scope = members.filter("contact_id")
    if rollups is None or not rollups.covers(start.isoformat()):
        source = (
            f"SELECT e.channel, {_counts_of('send', 'click', 'purchase')} FROM event e "
            "WHERE e.event IN ('send', 'click', 'purchase') "
            "AND e.occurred_at >= :start AND e.occurred_at < :end "
            f"AND e.channel IN ('email', 'sms', 'push') {members.filter('e.contact_id')} "
            "GROUP BY e.channel"
        )
    elif rollups.reads_totals(start, end):
        first, last = rollups.span() or (start, end)
        source = (
            "SELECT channel, sum(sends), sum(clicks), sum(purchases) FROM ("
            "SELECT channel, sends, clicks, purchases FROM rollup_contact_channel "
            f"WHERE 1 = 1 {in_scope}"
        )
        # Less the days before and after the window, when the span has any.
        for outside, has_days in (("day < :start", start > first), ("day >= :end", end <= last)):
            if has_days:
                source += (
                    " UNION ALL SELECT channel, -sends, -clicks, -purchases "
                    f"FROM rollup_contact_day WHERE {outside} {in_scope}"
                )
        source += ") GROUP BY channel"
    else:
        source = (
            "SELECT channel, sum(sends), sum(clicks), sum(purchases) FROM rollup_contact_day "
            f"WHERE day >= :start AND day < :end {in_scope} "
            "GROUP BY channel"
        )
    params = {**members.params, "start": start.isoformat(), "end": end.isoformat()}
    rows = conn.execute(text(source), params).all()
    return _by_channel(rows)


def _counts_of(*events: str) -> str:
    """SQL counting the rows of each of these event kinds (an `event e` row each)."""
    return ", ".join(count_where_sql(f"e.event = '{event}'") for event in events)


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
        return f"Nobody in this audience can be reached by {_either(channels)}."
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
    unreachable = [c for c in channels if not c.reachable]
    if unreachable:
        sentence += f". Nobody is reachable by {' or '.join(_labels(unreachable))}"
    return sentence + "."


def _labels(channels: list[ChannelStats]) -> list[str]:
    return [CHANNEL_LABELS[c.channel] for c in channels]


def _either(channels: list[ChannelStats]) -> str:
    """The channels as a sentence lists them: "email, SMS or push"."""
    labels = _labels(channels)
    return ", ".join(labels[:-1]) + " or " + labels[-1] if len(labels) > 1 else labels[0]
