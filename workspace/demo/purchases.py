"""Each contact's purchases: how many, when, and the channel and campaign each is credited to."""

from __future__ import annotations

import itertools
import random
from bisect import bisect
from typing import Any

from workspace.demo.calendar import PAID_CAMPAIGNS
from workspace.demo.timeline import Timeline

PURCHASE_CHANNELS = ("email", "sms", "search", "social", "display", "web")
PURCHASE_WEIGHTS = (30, 8, 22, 15, 5, 20)
_PURCHASE_CUM = list(itertools.accumulate(PURCHASE_WEIGHTS))


def draw_purchases(
    rng: random.Random,
    timeline: Timeline,
    cid: int,
    start: int,
    events: list[tuple[Any, ...]],
    email_sends: list[list[Any]],
    sms_sends: list[list[Any]],
) -> tuple[int, float, int | None]:
    """Purchase events (each attributed to a channel) and the contact's order totals."""
    rand = rng.random
    today_s = timeline.today_s
    if rand() >= 0.55:
        return 0, 0.0, None
    count = 1
    while count < 8 and rand() < 0.45:
        count += 1
    lapsed_end = today_s - 91 * 86_400
    # Each purchase gets a time range: lapsed buyers stop 91 days before today; active
    # buyers have one purchase in the last 89 days and the rest anywhere in the year.
    if rand() < 0.27 and start < lapsed_end:
        ranges = [(start, lapsed_end)] * count
    else:
        recent_start = max(start, today_s - 89 * 86_400)
        ranges = [(recent_start, today_s)] + [(start, today_s)] * (count - 1)
    times: list[int] = []
    revenue_total = 0.0
    for low, high in ranges:
        channel = PURCHASE_CHANNELS[bisect(_PURCHASE_CUM, rand() * _PURCHASE_CUM[-1])]
        campaign = PAID_CAMPAIGNS.get(channel, "")
        variant = ""
        at = 0
        if channel in ("email", "sms"):
            sends = email_sends if channel == "email" else sms_sends
            # An owned-channel purchase follows a click on a message the contact got.
            usable = [s for s in sends if s[4] and low <= s[0] and s[0] + 600 < high]
            if usable:
                send = usable[int(rand() * len(usable))]
                campaign, variant = send[1], send[2]
                at = send[0] + 600 + int(rand() * (min(2 * 86_400, high - send[0]) - 600))
                if not send[3]:
                    send[3] = True
                    clicked_at = at - 60 - int(rand() * (min(3_600, at - send[0]) - 60))
                    events.append(
                        (cid, channel, "click", campaign, variant, timeline.text(clicked_at), 0.0)
                    )
            else:
                channel, campaign = "web", ""
        if not at:
            at = low + int(rand() * (high - low))
        times.append(at)
        revenue = round(rng.lognormvariate(4.1, 0.45), 2)
        revenue_total += revenue
        events.append((cid, channel, "purchase", campaign, variant, timeline.text(at), revenue))
    return len(times), revenue_total, max(times)
