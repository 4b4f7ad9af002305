"""The demo's daily spend per channel, with a social push and the planted anomaly."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from typing import Any

from workspace.demo.calendar import PAID_CAMPAIGNS
from workspace.demo.timeline import Timeline

EMAIL_PER_SEND = 0.012
SMS_PER_SEND = 0.045
EMAIL_DAILY_FEE = 0.1
SMS_DAILY_FEE = 0.05
"""Platform fees per day for every thousand contacts."""
PAID_DAILY_PER_1000 = {"search": 12.0, "social": 9.0, "display": 4.0}
"""Paid media spend per day for every thousand contacts."""
SOCIAL_PUSH_DAYS = 28
"""The last weeks carry a social push (+35% spend), a trend the research tool should see."""

ANOMALY_CHANNEL = "search"
ANOMALY_METRIC = "spend"
ANOMALY_FACTOR = 4.0
"""The planted anomaly: a runaway bid multiplies one day's search spend by this factor."""
ANOMALY_DAYS_AGO = 70
"""The anomaly falls on the Wednesday on or before this many days before today."""


def anomaly_day(timeline: Timeline) -> int:
    """The day index of the planted anomaly."""
    day = timeline.today_day - ANOMALY_DAYS_AGO
    while timeline.weekdays[day] != 2:
        day -= 1
    return day


def spend_rows(
    rng: random.Random,
    timeline: Timeline,
    *,
    contacts: int,
    email_sends_by_day: Sequence[int],
    sms_sends_by_day: Sequence[int],
) -> list[tuple[Any, ...]]:
    """Daily spend per channel: owned channels per message sent, paid media per day."""
    scale = contacts / 1000
    anomaly = anomaly_day(timeline)
    rows: list[tuple[Any, ...]] = []
    ids = itertools.count(1)
    for day in range(timeline.window_day, timeline.today_day):
        weekend = 0.8 if timeline.weekdays[day] >= 5 else 1.0
        push = 1.35 if day >= timeline.today_day - SOCIAL_PUSH_DAYS else 1.0
        amounts = {
            "email": EMAIL_PER_SEND * email_sends_by_day[day] + EMAIL_DAILY_FEE * scale,
            "sms": SMS_PER_SEND * sms_sends_by_day[day] + SMS_DAILY_FEE * scale,
        }
        for channel, per_1000 in PAID_DAILY_PER_1000.items():
            noise = min(1.25, max(0.75, 1 + rng.gauss(0, 0.08)))
            factor = push if channel == "social" else 1.0
            amounts[channel] = per_1000 * scale * weekend * factor * noise
        if day == anomaly:
            amounts[ANOMALY_CHANNEL] *= ANOMALY_FACTOR
        for channel in ("email", "sms", "search", "social", "display"):
            campaign = PAID_CAMPAIGNS.get(channel) or f"{channel}-program"
            rows.append(
                (next(ids), timeline.day_iso[day], channel, campaign, round(amounts[channel], 2))
            )
    return rows
