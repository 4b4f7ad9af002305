"""Each contact's email and SMS history: sends, opens and clicks, with the planted best slots."""

from __future__ import annotations

import math
import random
from typing import Any

from workspace.demo.calendar import NULL_AB, PLANTED_AB, REPEAT, Calendar
from workspace.demo.experiments import (
    AB_CLICK_GIVEN_OPEN,
    FATIGUE_DECAY,
    FATIGUING_CAMPAIGN,
    REPEAT_CLICK_GIVEN_OPEN,
    STEADY_CAMPAIGN,
)
from workspace.demo.timeline import Timeline

BEST_SLOT = {"Americas": (1, 10), "Europe": (3, 9), "APAC": (2, 19)}
"""The planted truth: the local (weekday, hour) at which each region opens email best."""
SEND_HOURS = (8, 9, 10, 11, 13, 16, 19)
"""Local hours the email program sends at (Monday to Friday), so slots can be compared."""
SMS_HOURS = (12, 14, 17)
CLICK_GIVEN_OPEN = 0.13
"""Chance that an opened program email is clicked."""


class Messages:
    """Draws contacts' messages from the shared stream; tallies sends per day and A/B variant."""

    def __init__(self, rng: random.Random, timeline: Timeline, calendar: Calendar) -> None:
        self.rand = rng.random
        self.timeline = timeline
        self.calendar = calendar
        self.email_log_miss = _log_miss(calendar.email_reach)
        self.sms_log_miss = _log_miss(calendar.sms_reach)
        self.email_sends_by_day = [0] * timeline.days
        self.sms_sends_by_day = [0] * timeline.days
        self.ab_sends = {"A": 0, "B": 0}
        self.ab_clicks = {"A": 0, "B": 0}

    def gap(self, log_miss: float) -> int:
        """Campaigns skipped before the next one a contact gets (geometric, see _log_miss).

        Drawing the gap instead of one coin per campaign keeps a million contacts at a low
        cadence cheap: the work follows the sends, not the length of the calendar.
        """
        if log_miss == 0.0:
            return 1 << 30
        return int(math.log(1.0 - self.rand()) / log_miss)

    def email_history(
        self,
        cid: int,
        region: str,
        timezone: str,
        engagement: float,
        start: int,
        stop_at: int,
        bounce_at: int | None,
        events: list[tuple[Any, ...]],
        sends: list[list[Any]],
    ) -> tuple[int, str] | None:
        """Email sends, opens and clicks; returns the send that bounced, if any."""
        rand = self.rand
        timeline = self.timeline
        text = timeline.text
        today_s = timeline.today_s
        offsets = timeline.offsets[timezone]
        weekdays = timeline.weekdays
        calendar = self.calendar
        best_weekday, best_hour = BEST_SLOT[region]
        cohorts = {
            FATIGUING_CAMPAIGN: rand() < calendar.repeat_reach,
            STEADY_CAMPAIGN: rand() < calendar.repeat_reach,
        }
        chosen = []
        program = calendar.program_campaigns
        log_miss = self.email_log_miss
        i = self.gap(log_miss)
        while i < len(program):
            chosen.append(program[i])
            i += 1 + self.gap(log_miss)
        for c in calendar.other_campaigns:
            if cohorts[c[0]] if c[3] == REPEAT else rand() < c[4]:
                chosen.append(c)
        planned = []
        for campaign, first_day, days, kind, _ in chosen:
            day = first_day + int(rand() * days)
            hour = SEND_HOURS[int(rand() * len(SEND_HOURS))]
            t = day * 86_400 + hour * 3600 + int(rand() * 300) - offsets[day]
            if t < start or t >= stop_at or t >= today_s:
                continue
            split = kind in (NULL_AB, PLANTED_AB)
            variant = ("B" if rand() < 0.5 else "A") if split else ""
            planned.append((t, campaign, variant, kind, day, hour))
        # Campaigns overlap; go in time order so a bounce ends the history and repeats count up.
        planned.sort()
        exposures = dict.fromkeys(cohorts, 0)
        for t, campaign, variant, kind, day, hour in planned:
            self.email_sends_by_day[t // 86_400] += 1
            events.append((cid, "email", "send", campaign, variant, text(t), 0.0))
            if kind == PLANTED_AB:
                self.ab_sends[variant] += 1
            if bounce_at is not None and t >= bounce_at:
                events.append((cid, "email", "bounce", campaign, variant, text(t + 30), 0.0))
                return t, campaign
            if weekdays[day] == best_weekday and hour == best_hour:
                factor = 1.9
            elif 9 <= hour <= 11:
                factor = 1.1
            elif hour == 19:
                factor = 0.9
            else:
                factor = 1.0
            if kind == PLANTED_AB:
                click_given_open = AB_CLICK_GIVEN_OPEN[variant]
            elif kind == REPEAT:
                click_given_open = REPEAT_CLICK_GIVEN_OPEN[campaign]
                if campaign == FATIGUING_CAMPAIGN:
                    click_given_open *= (1 - FATIGUE_DECAY) ** exposures[campaign]
                exposures[campaign] += 1
            else:
                click_given_open = CLICK_GIVEN_OPEN
            clicked = False
            if rand() < engagement * factor:
                delay = min(int(-math.log(1.0 - rand()) * 5_400), 172_800)
                opened_at = t + 60 + delay
                if opened_at < today_s:
                    events.append((cid, "email", "open", campaign, variant, text(opened_at), 0.0))
                    if rand() < click_given_open:
                        clicked_at = opened_at + 10 + int(rand() * 890)
                        if clicked_at < today_s:
                            clicked = True
                            events.append(
                                (cid, "email", "click", campaign, variant, text(clicked_at), 0.0)
                            )
                            if kind == PLANTED_AB:
                                self.ab_clicks[variant] += 1
            # Purchases are credited to program emails only, so the planted click rates of
            # the A/B test and the repeated creatives stay exactly as drawn.
            sends.append([t, campaign, variant, clicked, kind < PLANTED_AB])
        return None

    def sms_history(
        self,
        cid: int,
        timezone: str,
        engagement: float,
        start: int,
        stop_at: int,
        events: list[tuple[Any, ...]],
        sends: list[list[Any]],
    ) -> None:
        """SMS sends and clicks."""
        rand = self.rand
        timeline = self.timeline
        offsets = timeline.offsets[timezone]
        campaigns = self.calendar.sms_campaigns
        log_miss = self.sms_log_miss
        i = self.gap(log_miss)
        while i < len(campaigns):
            campaign, day = campaigns[i]
            i += 1 + self.gap(log_miss)
            hour = SMS_HOURS[int(rand() * len(SMS_HOURS))]
            t = day * 86_400 + hour * 3600 + int(rand() * 600) - offsets[day]
            if t < start or t >= stop_at or t >= timeline.today_s:
                continue
            self.sms_sends_by_day[t // 86_400] += 1
            events.append((cid, "sms", "send", campaign, "", timeline.text(t), 0.0))
            clicked = False
            if rand() < engagement * 0.35:
                clicked_at = t + 30 + int(rand() * 3_570)
                if clicked_at < timeline.today_s:
                    clicked = True
                    events.append(
                        (cid, "sms", "click", campaign, "", timeline.text(clicked_at), 0.0)
                    )
            sends.append([t, campaign, "", clicked, True])


def _log_miss(reach: float) -> float:
    """log(1 - reach): a contact's gap to the next campaign is floor(log(U) / log(1 - reach))."""
    return math.log1p(-reach) if reach < 1 else -math.inf
