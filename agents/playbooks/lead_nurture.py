"""Lead nurture: turn new leads, who have not bought yet, into customers."""

from __future__ import annotations

from agents.playbooks.base import Playbook, rule
from agents.playbooks.campaign import campaign_steps

LEAD_NURTURE = Playbook(
    name="lead_nurture",
    description="nurture new leads",
    kpi="lead-to-customer conversion rate",
    sends=True,
    template=campaign_steps,
    # The first rule ranks before winback: "signups who haven't purchased yet" never
    # bought, so they are not lapsed.
    rules=(
        rule(
            70,
            r"\bnurtur\w*|\bonboard\w*|\bwelcome\s+(?:series|flow|sequence|journey)\b"
            r"|\b(?:haven't|hasn't|have\s+not|has\s+not)\s+(?:\w+\s+)?(?:bought|purchased"
            r"|ordered)\s+(?:anything\s+)?yet\b|\bnever\s+(?:bought|purchased|ordered)\b",
        ),
        rule(
            90,
            r"\bleads?\b|\bnurtur\w*|\btrials?\b|\bsign[- ]?ups?\b|\bonboard\w*"
            r"|\bwelcome\s+(?:series|flow|sequence|journey|e-?mails?)\b|\bnew\s+registrations\b",
        ),
    ),
    objective="Turn new leads into first-time customers",
    audience_objective="Turn {audience} into first-time customers",
    channels=("email",),
    segment_title="Build the new-lead segment",
    # Leads have not bought yet; purchase rules would contradict that.
    purchase_rules=False,
    segment_hints={"never_purchased": True, "created_within_days": 60},
)
