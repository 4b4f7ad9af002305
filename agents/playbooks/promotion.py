"""Promotion: a sale or an offer, the campaign a brief gets when it names no other."""

from __future__ import annotations

from agents.playbooks.base import Playbook, rule
from agents.playbooks.campaign import campaign_steps

PROMOTION = Playbook(
    name="promotion",
    description="sale or offer",
    kpi="revenue",
    sends=True,
    template=campaign_steps,
    rules=(
        rule(
            120,
            r"\bsales?\b|\bpromos?\b|\bpromot\w*|\bdiscount\w*|\d+\s*%\s*off\b|\bpercent\s+off\b"
            r"|\bblack\s+friday\b|\bcyber\s+monday\b|\boffers?\b|\bcoupons?\b|\bdeals?\b"
            r"|\bclearance\b|\bfree\s+shipping\b|\bbogo\b|[$€£]\d+\s+off\b|\bflash\b",
        ),
    ),
    objective="Drive sales with a promotion to the customer base",
    audience_objective="Drive sales with a promotion to {audience}",
    channels=("email",),
    segment_title="Build the promotion audience",
)
