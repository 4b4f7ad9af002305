"""The planted experiments: an A/B test with a real winner, and a fatiguing creative."""

from __future__ import annotations

AB_TEST_THEME = "gift-guide"
AB_TEST_WEEKS_BEFORE_LAST_REPEAT = 3
AB_CLICK_GIVEN_OPEN = {"A": 0.34, "B": 0.51}
"""The planted A/B truth: variant B's creative gets clicked 50% more often once opened.

Opens do not depend on the variant, so clicks per send rise by the same +50% (about 8%
against 12%). The test goes to every email contact (at cadence 1), about 78% of the
contacts: roughly 1,170 sends per variant at 3,000 contacts, where a two-proportion
z-test has about 90% power (z was 2.8 to 4.8 over ten seeds); z is about 4.5 at 6,000
contacts and about 8 at 20,000.
"""

FATIGUING_CAMPAIGN = "email-trail-essentials"
"""The planted fatigue truth: re-sent weekly to one cohort, its click rate decays."""
STEADY_CAMPAIGN = "email-member-picks"
"""Re-sent weekly to another cohort just as often; its click rate stays flat (the control)."""
REPEAT_SENDS = 8
"""Weekly sends of each repeated creative, ending before the last week."""
REPEAT_COHORT = 0.22
"""Share of email contacts in each repeated creative's cohort (at cadence 1)."""
FATIGUE_DECAY = 0.15
"""Clicks per send of the fatiguing creative fall by this share with every repeat."""
REPEAT_CLICK_GIVEN_OPEN = {FATIGUING_CAMPAIGN: 0.36, STEADY_CAMPAIGN: 0.30}
"""Chance an opened repeated email is clicked (on the first exposure, for the fatiguing one)."""
