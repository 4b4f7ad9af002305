"""Newsletter: the regular issue to subscribers."""

from __future__ import annotations

from agents.playbooks.base import Playbook, rule
from agents.playbooks.campaign import campaign_steps

NEWSLETTER = Playbook(
    name="newsletter",
    description="regular newsletter",
    kpi="click-through rate",
    sends=True,
    template=campaign_steps,
    rules=(
        rule(
            100,
            r"\bnewsletters?\b|\bdigest\b|\bround-?up\b|\bmonthly\s+update\b",
        ),
    ),
    objective="Send the newsletter to subscribers",
    audience_objective="Send the newsletter to {audience}",
    channels=("email",),
    segment_title="Select the newsletter subscribers",
)
