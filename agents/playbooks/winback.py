"""Winback: re-engage customers who stopped buying."""

from __future__ import annotations

from agents.playbooks.base import Playbook, rule
from agents.playbooks.campaign import campaign_steps

WINBACK = Playbook(
    name="winback",
    description="re-engage lapsed customers",
    kpi="reactivation rate",
    sends=True,
    template=campaign_steps,
    rules=(
        rule(
            80,
            r"\bwin[- ]?back\b|\blapsed\b|\bre-?engag\w*|\breactivat\w*|\bchurned\b|\bdormant\b"
            r"|\b(?:haven't|hasn't|have\s+not|has\s+not)\s+(?:\w+\s+)?(?:bought|purchased"
            r"|ordered|shopped)|\binactive\b|\bwe\s+miss\s+you\b|\bcome\s+back\b|\bbring\s+back\b",
        ),
    ),
    objective="Win back lapsed customers",
    audience_objective="Win back {audience}",
    channels=("email",),
    segment_title="Build the lapsed-customer segment",
    recency_days=90,
)
