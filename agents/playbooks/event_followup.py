"""Event follow-up: reach the people who attended an event."""

from __future__ import annotations

import re

from agents.playbooks.base import Playbook, rule
from agents.playbooks.campaign import campaign_steps

# Inviting people to an upcoming event is a promotion, not a follow-up.
_EVENT_INVITE = re.compile(
    r"\b(?:promot\w*|invit\w*|register|registration|sign\s+up\s+for|upcoming|ahead\s+of)\b",
    re.IGNORECASE,
)
_FOLLOW_UP = re.compile(
    r"\bfollow[- ]?up|\battendees?\b|\bafter\s+the\b|\bthank\b"
    r"|\bwho\s+(?:attended|came|joined|visited)\b",
    re.IGNORECASE,
)


def _invites(text: str) -> bool:
    return bool(_EVENT_INVITE.search(text)) and not _FOLLOW_UP.search(text)


EVENT_FOLLOWUP = Playbook(
    name="event_followup",
    description="follow up event attendees",
    # Measurable from workspace events (send, open, click, purchase); meetings are not.
    kpi="click-through rate",
    sends=True,
    template=campaign_steps,
    rules=(
        rule(
            60,
            r"\bwebinars?\b|\bconferences?\b|\battendees?\b|\bregistrants\b|\btrade[- ]?shows?\b"
            r"|\bsummit\b|\bmeetups?\b|\bbooth\b|\bevent\s+follow[- ]?up"
            r"|\b(?:after|from|at)\s+(?:the|our|this|last\s+week's|yesterday's)\s+(?:\w+\s+)?event\b",
        ),
        rule(
            150,
            r"\bevents?\b",
        ),
    ),
    objective="Follow up with event attendees",
    audience_objective="Follow up with {audience}",
    channels=("email",),
    segment_title="Build the event-attendee segment",
    segment_hints={"engaged_within_days": 30},
    ruled_out_by=_invites,
)
