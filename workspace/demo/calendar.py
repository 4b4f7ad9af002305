"""The demo's campaigns: the email and SMS calendar, and the always-on paid campaigns."""

from __future__ import annotations

from typing import TypeAlias

from workspace.demo.experiments import (
    AB_TEST_THEME,
    AB_TEST_WEEKS_BEFORE_LAST_REPEAT,
    FATIGUING_CAMPAIGN,
    REPEAT_COHORT,
    REPEAT_SENDS,
    STEADY_CAMPAIGN,
)
from workspace.demo.timeline import Timeline

EMAIL_THEMES = ("newsletter", "new-arrivals", "style-guide", "weekend-edit", "restock")
SMS_THEMES = ("flash-sale", "early-access", "back-in-stock")
PAID_CAMPAIGNS = {
    "search": "search-always-on",
    "social": "social-prospecting",
    "display": "display-retargeting",
    "web": "",
}

EMAIL_REACH = 0.25
"""Share of email contacts each weekly email reaches (at cadence 1)."""
EARLY_ACCESS_REACH = 0.4
"""Share reached by each of the two early-access emails in the last week (at cadence 1)."""
SMS_REACH = 0.4
"""Share of SMS contacts each fortnightly SMS reaches (at cadence 1)."""

# Kinds of email in the calendar. Purchases are credited only to kinds below PLANTED_AB.
NULL_AB = -1
"""A weekly email split into variants A and B that perform the same."""
WEEKLY = 0
EARLY = 1
PLANTED_AB = 2
REPEAT = 3

EmailCampaign: TypeAlias = tuple[str, int, int, int, float]
"""(name, first day index, days it spreads over, kind, reach)."""
SmsCampaign: TypeAlias = tuple[str, int]
"""(name, day index)."""


class Calendar:
    """Every email and SMS campaign of the event window; `cadence` multiplies their reach."""

    def __init__(self, timeline: Timeline, cadence: float = 1.0) -> None:
        self.timeline = timeline
        self.email_reach = min(1.0, EMAIL_REACH * cadence)
        self.sms_reach = min(1.0, SMS_REACH * cadence)
        self.repeat_reach = min(1.0, REPEAT_COHORT * cadence)
        self.ab_test_campaign = ""
        self.email_campaigns = self._email_campaigns(cadence)
        self.program_campaigns = [c for c in self.email_campaigns if c[3] in (NULL_AB, WEEKLY)]
        """The weekly program, which each contact gets a share of (see Messages.gap)."""
        self.other_campaigns = [c for c in self.email_campaigns if c[3] not in (NULL_AB, WEEKLY)]
        self.sms_campaigns = self._sms_campaigns()

    def _email_campaigns(self, cadence: float) -> list[EmailCampaign]:
        """(name, first day index, days it spreads over, kind, reach) for every email.

        The weekly email goes out Monday to Friday at each contact's slot (every fourth
        one as an A/B test without a real difference); two one-day early-access emails
        in the last week push some contacts over the frequency cap. Two creatives are
        re-sent weekly to fixed cohorts in the weeks before the last one, and one more
        email is the A/B test with a real winner.
        """
        timeline = self.timeline
        mondays = list(range(timeline.first_weekday(0), timeline.today_day, 7))
        campaigns = []
        for week, monday in enumerate(mondays):
            theme = EMAIL_THEMES[week % len(EMAIL_THEMES)]
            kind = NULL_AB if week % 4 == 3 else WEEKLY
            campaigns.append(
                (f"email-{timeline.day_iso[monday]}-{theme}", monday, 5, kind, self.email_reach)
            )
        early_reach = min(1.0, EARLY_ACCESS_REACH * cadence)
        for day in (timeline.today_day - 4, timeline.today_day - 2):
            campaigns.append(
                (f"email-{timeline.day_iso[day]}-early-access", day, 1, EARLY, early_reach)
            )
        # The repeated creatives end a week before today, clear of the frequency-cap week.
        last_repeat = max(m for m in mondays if m + 4 <= timeline.today_day - 8)
        for k in range(REPEAT_SENDS - 1, -1, -1):
            for name in (FATIGUING_CAMPAIGN, STEADY_CAMPAIGN):
                campaigns.append((name, last_repeat - 7 * k, 5, REPEAT, 1.0))
        ab_monday = last_repeat - 7 * AB_TEST_WEEKS_BEFORE_LAST_REPEAT
        self.ab_test_campaign = f"email-{timeline.day_iso[ab_monday]}-{AB_TEST_THEME}"
        campaigns.append((self.ab_test_campaign, ab_monday, 5, PLANTED_AB, min(1.0, cadence)))
        return campaigns

    def _sms_campaigns(self) -> list[SmsCampaign]:
        """(name, day index) for the fortnightly Friday SMS."""
        timeline = self.timeline
        return [
            (f"sms-{timeline.day_iso[day]}-{SMS_THEMES[i % len(SMS_THEMES)]}", day)
            for i, day in enumerate(range(timeline.first_weekday(4), timeline.today_day, 14))
        ]
