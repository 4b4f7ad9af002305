"""Unusual days in each channel's daily spend and revenue, read from the KPI rollups.

Spend and revenue are the signals a marketer acts on; send counts jump on every campaign
day. A campaign does move its own channel's spend (paid per send) and revenue too, so
anomalies on a channel's campaign days (its sends were themselves unusual that day, or
up to CAMPAIGN_LAG_DAYS before) are set aside and counted rather than reported. Days are
scored as in `tools.anomaly`: a robust (modified) z-score against the `window` days before.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import Session

from tools.anomaly import Anomaly, anomaly_sentence, detect_anomalies
from workspace.rollups import rollup_connection

CHANNEL_METRICS = ("spend", "revenue")
"""The daily signals scored per channel."""
CAMPAIGN_LAG_DAYS = 2
"""A send's revenue lands that day and the next two, so unusual sends explain those days too."""


class ChannelAnomaly(BaseModel):
    """An unusual day in one channel's daily spend or revenue."""

    day: date
    channel: str
    metric: str
    """spend or revenue."""
    value: float
    usual: float
    """The median of the `window` days before."""
    score: float | None
    """The robust (modified) z-score; None when every one of those days had the same value."""
    direction: Literal["spike", "drop"]
    sentence: str


class ChannelAnomalyReport(BaseModel):
    """Unusual days in each channel's daily spend and revenue over start..end."""

    start: date
    end: date
    window: int
    threshold: float
    anomalies: list[ChannelAnomaly]
    """Largest |score| first (an unbounded score first of all)."""
    campaign_days: int
    """Anomalies set aside as campaign days: the channel's own sends were unusual then."""
    detail: str


def channel_anomalies(
    session: Session, *, start: date, end: date, window: int = 28, threshold: float = 3.5
) -> ChannelAnomalyReport:
    """Unusual days in start..end in each channel's daily spend and revenue, from the rollups.

    Each day is scored against the `window` days before it (read too, so the first days
    have a baseline). Anomalies on a channel's campaign days (its own daily sends were
    unusual on the day or up to CAMPAIGN_LAG_DAYS before: a campaign went out, a weekend
    paused the sends) are counted in `campaign_days`, not listed: the campaign explains them.
    """
    if end < start:
        raise ValueError("end is before start")
    first = start - timedelta(days=window)
    bounds = {"first": first.isoformat(), "end": end.isoformat()}
    with rollup_connection(session) as conn:
        kpi_rows = conn.execute(
            text(
                "SELECT day, channel, sum(sends) AS sends, sum(revenue) AS revenue "
                "FROM rollup_kpi_day WHERE day >= :first AND day <= :end GROUP BY day, channel"
            ),
            bounds,
        ).all()
        spend_rows = conn.execute(
            text(
                "SELECT date AS day, channel, sum(spend) AS spend FROM spend "
                "WHERE date >= :first AND date <= :end GROUP BY date, channel"
            ),
            bounds,
        ).all()
    values: dict[str, dict[str, dict[str, float]]] = {}  # channel -> metric -> ISO day -> value
    for row in kpi_rows:
        by_metric = values.setdefault(row.channel, {})
        by_metric.setdefault("sends", {})[str(row.day)] = float(row.sends or 0)
        by_metric.setdefault("revenue", {})[str(row.day)] = float(row.revenue or 0)
    for row in spend_rows:
        values.setdefault(row.channel, {}).setdefault("spend", {})[str(row.day)] = float(
            row.spend or 0
        )
    days = [first + timedelta(days=n) for n in range((end - first).days + 1)]

    def scored(by_day: dict[str, float]) -> list[Anomaly]:
        # A day without a row is a day without activity, but not before the first row:
        # before the data begins there is nothing to compare with.
        begun = min(by_day, default="")
        series = [(day, by_day.get(day.isoformat(), 0.0)) for day in days if str(day) >= begun]
        return detect_anomalies(series, window=window, threshold=threshold) if by_day else []

    found: list[ChannelAnomaly] = []
    set_aside = 0
    for channel in sorted(values):
        metrics = values[channel]
        campaign = {
            a.day + timedelta(days=lag)
            for a in scored(metrics.get("sends", {}))
            for lag in range(CAMPAIGN_LAG_DAYS + 1)
        }
        for metric in CHANNEL_METRICS:
            for anomaly in scored(metrics.get(metric, {})):
                if anomaly.day < start:
                    continue
                if anomaly.day in campaign:
                    set_aside += 1
                    continue
                found.append(_channel_anomaly(anomaly, channel, metric, window))
    found.sort(
        key=lambda a: (-abs(a.score) if a.score is not None else -math.inf, a.day, a.channel)
    )
    return ChannelAnomalyReport(
        start=start,
        end=end,
        window=window,
        threshold=threshold,
        anomalies=found,
        campaign_days=set_aside,
        detail=_channel_detail(len(found), set_aside, start, end, threshold),
    )


def _channel_anomaly(anomaly: Anomaly, channel: str, metric: str, window: int) -> ChannelAnomaly:
    money = round(anomaly.value, 2), round(anomaly.median, 2)
    return ChannelAnomaly(
        day=anomaly.day,
        channel=channel,
        metric=metric,
        value=money[0],
        usual=money[1],
        # JSON has no infinity: an unbounded score is recorded as None, and said in words.
        score=None if math.isinf(anomaly.score) else round(anomaly.score, 2),
        direction=anomaly.direction,
        sentence=anomaly_sentence(anomaly, metric, channel, window),
    )


def _channel_detail(found: int, set_aside: int, start: date, end: date, threshold: float) -> str:
    count = f"{found or 'No'} anomal{'y' if found == 1 else 'ies'}"
    aside = f"; {set_aside} on campaign days set aside" if set_aside else ""
    return (
        f"{count} in daily spend or revenue per channel from {start.isoformat()} to "
        f"{end.isoformat()} (|robust z-score| >= {threshold:g}){aside}."
    )
