"""Anomaly detection on daily KPIs with a robust, trailing modified z-score.

For each day, the baseline is the values of the `window` days before it (the day itself
is left out, so a spike cannot hide itself):

    score = 0.6745 * (x - median) / MAD,    MAD = median(|v - median|) over the baseline

0.6745 is the 75th percentile of the standard normal, so for normal data the score reads
like a z-score, while the median and MAD stay put when a few baseline days are extreme
themselves (Iglewicz and Hoaglin). A day is an anomaly when |score| >= threshold (3.5 is
their recommendation). When more than half of the baseline is identical, MAD is zero;
the score then uses the mean absolute deviation instead, (x - median) / (1.253314 *
MeanAD), where 1.253314 = sqrt(pi / 2) makes it agree with the standard deviation on
normal data. When the baseline is entirely constant, any other value scores +-infinity.
Days with fewer than `MIN_HISTORY` baseline days are not scored.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import Session

from db.dialect import count_where_sql, not_indexed, utc_day_sql

KPI_METRICS = ("sends", "opens", "clicks", "purchases", "revenue", "spend")
MONEY_METRICS = ("revenue", "spend")
MAD_SCALE = 0.6745
"""The normal distribution's 75th percentile: MAD / 0.6745 estimates the standard deviation."""
MEAN_AD_SCALE = 1.253314
"""sqrt(pi / 2): 1.253314 * mean absolute deviation estimates the standard deviation."""
MIN_HISTORY = 7
"""Baseline days needed before a day is scored (fewer when the window itself is shorter)."""


class DailyKpi(BaseModel):
    """One day's activity (UTC day; events by occurred_at, spend by its date)."""

    day: date
    sends: int
    opens: int
    clicks: int
    purchases: int
    revenue: float
    spend: float

    def metric(self, name: str) -> float:
        """The value of one of KPI_METRICS."""
        if name not in KPI_METRICS:
            raise ValueError(f"unknown metric {name!r}; use one of {', '.join(KPI_METRICS)}")
        return float(getattr(self, name))


class Anomaly(BaseModel):
    """A value far from the median of the days before it."""

    day: date
    value: float
    median: float
    """Median of the trailing window."""
    mad: float
    """Median absolute deviation of the trailing window."""
    score: float
    """Modified z-score; +-inf when the trailing window was constant."""
    direction: Literal["spike", "drop"]


class KpiAnomaly(Anomaly):
    """An anomaly in one daily KPI, with a sentence a marketer can read."""

    metric: str
    channel: str | None
    """None for all channels together."""
    sentence: str


class AnomalyReport(BaseModel):
    """Anomalous days per KPI over start..end."""

    start: date
    end: date
    channel: str | None
    metrics: list[str]
    window: int
    threshold: float
    days: int
    """Days in start..end."""
    anomalies: list[KpiAnomaly]
    """Largest |score| first."""
    detail: str


def daily_kpis(
    session: Session, *, start: date, end: date, channel: str | None = None
) -> list[DailyKpi]:
    """Sends, opens, clicks, purchases, revenue and spend for every day in start..end.

    Days without activity are included with zeros, so the list has one entry per day.
    """
    return _daily_kpis(session, start=start, end=end, channel=channel, metrics=KPI_METRICS)


def _daily_kpis(
    session: Session, *, start: date, end: date, channel: str | None, metrics: Sequence[str]
) -> list[DailyKpi]:
    """daily_kpis, reading only the tables the metrics need (the rest stay zero)."""
    if end < start:
        raise ValueError("end is before start")
    conn = session.connection()
    channel_filter = "" if channel is None else "AND channel = :channel"
    params: dict[str, object] = {
        "start": start.isoformat(),
        "stop": (end + timedelta(days=1)).isoformat(),
        "end": end.isoformat(),
        "channel": channel,
    }
    by_day: dict[str, Any] = {}
    if any(m != "spend" for m in metrics):
        # NOT INDEXED: events are stored contact by contact, so a date range read through
        # the (event, occurred_at) index costs one random table lookup per row; a
        # sequential scan is several times faster for ranges longer than a few days.
        rows = conn.execute(
            text(f"""
            SELECT {utc_day_sql("occurred_at")} AS day,
                {count_where_sql("event = 'send'")} AS sends,
                {count_where_sql("event = 'open'")} AS opens,
                {count_where_sql("event = 'click'")} AS clicks,
                {count_where_sql("event = 'purchase'")} AS purchases,
                sum(CASE WHEN event = 'purchase' THEN revenue ELSE 0 END) AS revenue
            FROM {not_indexed("event")}
            WHERE occurred_at >= :start AND occurred_at < :stop
                AND event IN ('send', 'open', 'click', 'purchase') {channel_filter}
            GROUP BY day
            """),
            params,
        ).all()
        by_day = {row.day: row for row in rows}
    spend: dict[str, float] = {}
    if "spend" in metrics:
        spend = dict(
            conn.execute(
                text(
                    "SELECT date, sum(spend) FROM spend WHERE date >= :start AND date <= :end "
                    f"{channel_filter} GROUP BY date"
                ),
                params,
            ).all()
        )
    result = []
    for n in range((end - start).days + 1):
        day = start + timedelta(days=n)
        key = day.isoformat()
        row = by_day.get(key)
        result.append(
            DailyKpi(
                day=day,
                sends=row.sends if row else 0,
                opens=row.opens if row else 0,
                clicks=row.clicks if row else 0,
                purchases=row.purchases if row else 0,
                revenue=round(row.revenue or 0.0, 2) if row else 0.0,
                spend=round(spend.get(key) or 0.0, 2),
            )
        )
    return result


def modified_z_score(value: float, baseline: Sequence[float]) -> tuple[float, float, float]:
    """(score, median, MAD) of a value against a baseline; see the module docstring."""
    if not baseline:
        raise ValueError("the baseline is empty")
    median = statistics.median(baseline)
    deviations = [abs(v - median) for v in baseline]
    mad = statistics.median(deviations)
    diff = value - median
    if mad > 0:
        return MAD_SCALE * diff / mad, median, mad
    mean_ad = sum(deviations) / len(deviations)
    if mean_ad > 0:
        return diff / (MEAN_AD_SCALE * mean_ad), median, mad
    return (math.copysign(math.inf, diff) if diff else 0.0), median, mad


def detect_anomalies(
    series: list[tuple[date, float]], *, window: int = 28, threshold: float = 3.5
) -> list[Anomaly]:
    """Days whose |modified z-score| against the `window` days before them is >= threshold.

    The series holds one value per day. The baseline of a day holds the values dated in
    [day - window, day); days with fewer than min(MIN_HISTORY, window) baseline values
    are not scored. Anomalies come back in date order.
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    if threshold <= 0:
        raise ValueError("threshold must be positive")
    points = sorted(series)
    days = [day for day, _ in points]
    needed = min(MIN_HISTORY, window)
    anomalies = []
    for i, (day, value) in enumerate(points):
        first = bisect_left(days, day - timedelta(days=window), 0, i)
        baseline = [v for _, v in points[first:i]]
        if len(baseline) < needed:
            continue
        score, median, mad = modified_z_score(value, baseline)
        if abs(score) >= threshold:
            anomalies.append(
                Anomaly(
                    day=day,
                    value=value,
                    median=median,
                    mad=mad,
                    score=score if math.isinf(score) else round(score, 4),
                    direction="spike" if score > 0 else "drop",
                )
            )
    return anomalies


def kpi_anomalies(
    session: Session,
    *,
    start: date,
    end: date,
    channel: str | None = None,
    metrics: Sequence[str] = KPI_METRICS,
    window: int = 28,
    threshold: float = 3.5,
) -> AnomalyReport:
    """Anomalous days in start..end for each metric, each with a sentence.

    The `window` days before `start` are read too, so the first days have a baseline.
    """
    unknown = [m for m in metrics if m not in KPI_METRICS]
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r}; use one of {', '.join(KPI_METRICS)}")
    if end < start:
        raise ValueError("end is before start")
    rows = _daily_kpis(
        session,
        start=start - timedelta(days=window),
        end=end,
        channel=channel,
        metrics=list(metrics),
    )
    found: list[KpiAnomaly] = []
    for metric in dict.fromkeys(metrics):
        series = [(row.day, row.metric(metric)) for row in rows]
        for anomaly in detect_anomalies(series, window=window, threshold=threshold):
            if anomaly.day < start:
                continue
            found.append(
                KpiAnomaly(
                    **anomaly.model_dump(),
                    metric=metric,
                    channel=channel,
                    sentence=anomaly_sentence(anomaly, metric, channel, window),
                )
            )
    found.sort(key=lambda a: (-abs(a.score), a.day, a.metric))
    days = (end - start).days + 1
    scope = f"{channel} " if channel else ""
    if found:
        detail = (
            f"{len(found)} anomal{'y' if len(found) == 1 else 'ies'} in {scope}daily KPIs "
            f"over {days} days from {start.isoformat()} (|modified z-score| >= {threshold:g})."
        )
    else:
        detail = (
            f"No anomalies in {scope}daily KPIs over {days} days from {start.isoformat()} "
            f"(|modified z-score| >= {threshold:g})."
        )
    return AnomalyReport(
        start=start,
        end=end,
        channel=channel,
        metrics=list(dict.fromkeys(metrics)),
        window=window,
        threshold=threshold,
        days=days,
        anomalies=found,
        detail=detail,
    )


def anomaly_sentence(anomaly: Anomaly, metric: str, channel: str | None, window: int) -> str:
    """The anomaly in words: what, when, how far from the median, and its score."""
    name = {"sms": "SMS"}.get(channel or "", (channel or "").replace("_", " ").capitalize())
    subject = f"{name} {metric}" if channel else f"Total {metric}"
    money = metric in MONEY_METRICS

    def amount(x: float) -> str:
        return f"{x:,.2f}" if money else f"{x:,.0f}"

    when = f"{anomaly.day:%A} {anomaly.day.isoformat()}"
    median = amount(anomaly.median)
    if anomaly.median <= 0:
        size = f"against a median of {median}"
    elif anomaly.value >= 2 * anomaly.median:
        size = f"{anomaly.value / anomaly.median:.1f}x the median of {median}"
    else:
        change = anomaly.value / anomaly.median - 1
        size = f"{abs(change):.0%} {'above' if change > 0 else 'below'} the median of {median}"
    score = (
        "every one of those days had the same value"
        if math.isinf(anomaly.score)
        else f"modified z-score {anomaly.score:+.1f}"
    )
    return (
        f"{subject} on {when} was {amount(anomaly.value)}, {size} "
        f"over the previous {window} days ({score})."
    )
