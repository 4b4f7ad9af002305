"""Performance: KPIs per channel, budget pacing, and budget allocation within bands."""

from __future__ import annotations

import itertools
import statistics
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import bindparam, text
from sqlmodel import Session

from db.vocabulary import CHANNELS
from workspace.rollups import rollup_connection

CHANNEL_ORDER = CHANNELS


class ChannelKpi(BaseModel):
    """One channel's activity and efficiency over a period."""

    channel: str
    sends: int
    opens: int
    clicks: int
    conversions: int
    """Purchase events attributed to the channel."""
    revenue: float
    spend: float
    open_rate: float | None
    """opens / sends; None without sends."""
    ctr: float | None
    """clicks / sends; None without sends."""
    conversion_rate: float | None
    """conversions / sends; None without sends."""
    cpa: float | None
    """spend / conversions; None without conversions."""
    roas: float | None
    """revenue / spend; None without spend."""


class KpiSummary(BaseModel):
    """KPIs per channel and in total for an inclusive date range."""

    start: date
    end: date
    rows: list[ChannelKpi]
    totals: ChannelKpi


class PacingResult(BaseModel):
    """How spend so far compares with a straight-line path to the budget."""

    budget: float
    start: date
    end: date
    today: date
    channels: list[str] | None
    days_total: int
    days_elapsed: int
    """Whole days of the window before today."""
    spent: float
    """Spend in the window before today."""
    expected: float
    """Spend a linear pace would have reached by now."""
    pace_ratio: float | None
    """spent / expected; None before the window starts."""
    status: Literal["under", "on_track", "over"]
    by_channel: dict[str, float]
    projected: float
    """End-of-period spend if the pace so far continues."""
    remaining: float
    detail: str


class Allocation(BaseModel):
    """A budget split across channels."""

    budget: float
    allocations: dict[str, float]
    """Channel -> amount; sums exactly to the budget."""
    shares: dict[str, float]
    basis: dict[str, float]
    """Cost per conversion each channel was weighted by (unknowns filled with the median)."""
    bands: dict[str, tuple[float, float]]
    """The (min_share, max_share) each channel was held to."""


def kpi_summary(session: Session, *, start: date, end: date) -> KpiSummary:
    """Sends, opens, clicks, conversions, revenue and spend per channel for start..end.

    Events come from the daily KPI rollup, whose days are the UTC days of `occurred_at`.
    """
    if end < start:
        raise ValueError("end is before start")
    window = {"start": start.isoformat(), "end": end.isoformat()}
    with rollup_connection(session) as conn:
        events = conn.execute(
            text(
                "SELECT channel, sum(sends) AS sends, sum(opens) AS opens, "
                "sum(clicks) AS clicks, sum(purchases) AS conversions, sum(revenue) AS revenue "
                "FROM rollup_kpi_day WHERE day >= :start AND day <= :end GROUP BY channel"
            ),
            window,
        ).all()
        spend: dict[str, float] = dict(
            conn.execute(
                text(
                    "SELECT channel, sum(spend) FROM spend "
                    "WHERE date >= :start AND date <= :end GROUP BY channel"
                ),
                window,
            ).all()
        )
    counts = {row.channel: row for row in events}
    rows = []
    for channel in _ordered(set(counts) | set(spend)):
        row = counts.get(channel)
        rows.append(
            _kpi(
                channel,
                sends=row.sends if row else 0,
                opens=row.opens if row else 0,
                clicks=row.clicks if row else 0,
                conversions=row.conversions if row else 0,
                revenue=row.revenue if row else 0.0,
                spend=spend.get(channel) or 0.0,
            )
        )
    totals = _kpi(
        "total",
        sends=sum(r.sends for r in rows),
        opens=sum(r.opens for r in rows),
        clicks=sum(r.clicks for r in rows),
        conversions=sum(r.conversions for r in rows),
        revenue=sum(r.revenue for r in rows),
        spend=sum(r.spend for r in rows),
    )
    return KpiSummary(start=start, end=end, rows=rows, totals=totals)


def budget_pacing(
    session: Session,
    *,
    budget: float,
    start: date,
    end: date,
    today: date,
    channels: list[str] | None,
    tolerance: float = 0.1,
) -> PacingResult:
    """Compare spend before today with a linear path to the budget over start..end.

    Today's spend is left out because it is usually still coming in. Status is "over"
    or "under" when spend is more than `tolerance` (a fraction) off the linear path.
    """
    if end < start:
        raise ValueError("end is before start")
    if budget < 0 or tolerance < 0:
        raise ValueError("budget and tolerance must not be negative")
    days_total = (end - start).days + 1
    days_elapsed = min(max((today - start).days, 0), days_total)
    last_counted = start + timedelta(days=days_elapsed - 1)
    sql = (
        "SELECT channel, sum(spend) FROM spend WHERE date >= :start AND date <= :last "
        + ("AND channel IN :channels " if channels is not None else "")
        + "GROUP BY channel ORDER BY channel"
    )
    query = text(sql)
    params: dict[str, object] = {"start": start.isoformat(), "last": last_counted.isoformat()}
    if channels is not None:
        query = query.bindparams(bindparam("channels", expanding=True))
        params["channels"] = list(channels) or [""]
    by_channel = {
        channel: round(amount or 0.0, 2)
        for channel, amount in session.connection().execute(query, params)
    }
    if channels is not None:
        by_channel = {channel: by_channel.get(channel, 0.0) for channel in channels}
    spent = round(sum(by_channel.values()), 2)
    expected = round(budget * days_elapsed / days_total, 2)
    pace_ratio = round(spent / expected, 4) if expected else None
    if pace_ratio is None:
        status: Literal["under", "on_track", "over"] = "over" if spent > 0 else "on_track"
    elif pace_ratio > 1 + tolerance:
        status = "over"
    elif pace_ratio < 1 - tolerance:
        status = "under"
    else:
        status = "on_track"
    projected = round(spent * days_total / days_elapsed, 2) if days_elapsed else spent
    pace_text = f"{pace_ratio:.0%} of the linear pace" if pace_ratio is not None else "not started"
    detail = (
        f"Spent {spent:,.2f} of {budget:,.2f} after {days_elapsed} of {days_total} days "
        f"({pace_text}); on this pace the period ends at {projected:,.2f}."
    )
    return PacingResult(
        budget=budget,
        start=start,
        end=end,
        today=today,
        channels=channels,
        days_total=days_total,
        days_elapsed=days_elapsed,
        spent=spent,
        expected=expected,
        pace_ratio=pace_ratio,
        status=status,
        by_channel=by_channel,
        projected=projected,
        remaining=round(budget - spent, 2),
        detail=detail,
    )


def channel_cost_per_conversion(
    session: Session, *, channels: list[str], start: date, end: date
) -> dict[str, float | None]:
    """Spend / purchases per channel over start..end; None where there were no purchases."""
    summary = kpi_summary(session, start=start, end=end)
    by_channel = {row.channel: row for row in summary.rows}
    costs: dict[str, float | None] = {}
    for channel in channels:
        row = by_channel.get(channel)
        costs[channel] = round(row.spend / row.conversions, 4) if row and row.conversions else None
    return costs


def allocate_budget(
    *,
    budget: float,
    channels: list[str],
    cost_per_conversion: dict[str, float | None],
    bands: dict[str, tuple[float, float]],
) -> Allocation:
    """Split a budget across channels in proportion to 1 / cost per conversion, within bands.

    Unknown or non-positive costs take the median of the known ones (equal weights if
    none is known). Each channel's share is held inside its (min_share, max_share)
    band (default 0..1) and what clamping frees up flows to the others (water-filling).
    Amounts are rounded to cents; the rounding remainder goes to the largest amount.
    """
    if budget < 0:
        raise ValueError("budget must not be negative")
    names = list(dict.fromkeys(channels))
    if not names:
        raise ValueError("no channels to allocate to")
    known = {
        c: float(cost)
        for c in names
        if (cost := cost_per_conversion.get(c)) is not None and cost > 0
    }
    fill = statistics.median(known.values()) if known else 1.0
    basis = {c: known.get(c, fill) for c in names}
    weights = {c: 1.0 / basis[c] for c in names}
    limits = {c: bands.get(c, (0.0, 1.0)) for c in names}
    for channel, (low, high) in limits.items():
        if not 0 <= low <= high <= 1:
            raise ValueError(f"band for {channel} must satisfy 0 <= min_share <= max_share <= 1")
    if sum(low for low, _ in limits.values()) > 1 + 1e-9:
        raise ValueError("the minimum shares add up to more than the whole budget")
    if sum(high for _, high in limits.values()) < 1 - 1e-9:
        raise ValueError("the maximum shares add up to less than the whole budget")

    shares = _water_fill(weights, limits)
    amounts = {c: round(budget * shares[c], 2) for c in names}
    remainder = round(budget - sum(amounts.values()), 2)
    if remainder:
        largest = max(names, key=lambda c: (amounts[c], -names.index(c)))
        amounts[largest] = round(amounts[largest] + remainder, 2)
    return Allocation(
        budget=budget,
        allocations=amounts,
        shares={c: round(shares[c], 6) for c in names},
        basis={c: round(basis[c], 4) for c in names},
        bands=limits,
    )


def _water_fill(
    weights: dict[str, float], limits: dict[str, tuple[float, float]]
) -> dict[str, float]:
    """Shares clamp(level * weight, low, high) with the level chosen so they sum to one.

    The sum is piecewise linear and non-decreasing in the level, so walk its breakpoints
    to the segment where it crosses one and solve that segment exactly.
    """

    def total(level: float) -> float:
        return sum(min(max(level * w, limits[c][0]), limits[c][1]) for c, w in weights.items())

    points = sorted({0.0} | {bound / w for c, w in weights.items() for bound in limits[c]})
    level = points[-1]
    for low_point, high_point in itertools.pairwise(points):
        if total(high_point) >= 1:
            # Inside this segment the unclamped channels grow linearly with the level.
            middle = (low_point + high_point) / 2
            free = [c for c, w in weights.items() if limits[c][0] < middle * w < limits[c][1]]
            fixed = sum(
                min(max(middle * w, limits[c][0]), limits[c][1])
                for c, w in weights.items()
                if c not in free
            )
            slope = sum(weights[c] for c in free)
            level = (1 - fixed) / slope if slope else high_point
            level = min(max(level, low_point), high_point)
            break
    shares = {c: min(max(level * w, limits[c][0]), limits[c][1]) for c, w in weights.items()}
    # A flat segment (every channel clamped) can leave a hair of slack; give it to the
    # channels that still have room, in order, so the shares sum to one.
    slack = 1 - sum(shares.values())
    for c in weights:
        if abs(slack) < 1e-12:
            break
        room = limits[c][1] - shares[c] if slack > 0 else limits[c][0] - shares[c]
        step = min(slack, room) if slack > 0 else max(slack, room)
        shares[c] += step
        slack -= step
    return shares


def _kpi(
    channel: str,
    *,
    sends: int,
    opens: int,
    clicks: int,
    conversions: int,
    revenue: float,
    spend: float,
) -> ChannelKpi:
    return ChannelKpi(
        channel=channel,
        sends=sends,
        opens=opens,
        clicks=clicks,
        conversions=conversions,
        revenue=round(revenue, 2),
        spend=round(spend, 2),
        open_rate=round(opens / sends, 4) if sends else None,
        ctr=round(clicks / sends, 4) if sends else None,
        conversion_rate=round(conversions / sends, 4) if sends else None,
        cpa=round(spend / conversions, 2) if conversions else None,
        roas=round(revenue / spend, 4) if spend else None,
    )


def _ordered(channels: set[str]) -> list[str]:
    known = [c for c in CHANNEL_ORDER if c in channels]
    return known + sorted(channels - set(CHANNEL_ORDER))
