"""Segment hints: what the audience specialist is told about the audience a goal wants."""

from __future__ import annotations

import re
from typing import Any

from agents.planning.goal import Goal
from agents.playbooks.base import Playbook

_VIP = re.compile(
    r"\b(?:vips?|loyal|best|top|most\s+valuable|high[- ]value|repeat)\b", re.IGNORECASE
)
# Segment rules filter on the contact's region, which holds macro-regions (the demo
# workspace uses Americas, Europe and APAC); a named country maps to its region.
_REGIONS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (region, re.compile(rf"(?<!\w)(?:{pattern})(?!\w)"))
    for region, pattern in (
        (
            "Americas",
            r"Americas?|American|North\s+America|Latin\s+America|LATAM|US|USA|U\.S\.(?:A\.)?"
            r"|United\s+States|Canada|Canadian|Mexico|Brazil",
        ),
        (
            "Europe",
            r"[Ee]urope|European|EU|EMEA|UK|U\.K\.|United\s+Kingdom|Britain|British|Germany"
            r"|German|France|French|Spain|Italy|Netherlands",
        ),
        ("APAC", r"APAC|Asia|Asian|Asia-Pacific|Australia|Australian|Japan|Singapore"),
    )
)


def regions_in(text: str) -> list[str]:
    """Regions named in an audience description: "subscribers in Europe" -> ["Europe"],
    "customers in the US and UK" -> ["Americas", "Europe"]."""
    return [region for region, pattern in _REGIONS if pattern.search(text)]


def segment_inputs(goal: Goal, playbook: Playbook) -> dict[str, Any]:
    """Hints for the audience specialist, read from the goal's audience and its playbook."""
    inputs: dict[str, Any] = {}
    if goal.audience:
        inputs["description"] = goal.audience
    if playbook.purchase_rules:
        recency = goal.recency_days if goal.recency_days is not None else playbook.recency_days
        if recency is not None:
            inputs["min_days_since_purchase"] = recency
        if goal.audience and _VIP.search(goal.audience):
            inputs["min_orders"] = 3
    inputs.update(playbook.segment_hints)
    regions = regions_in(goal.audience or "")
    if regions:
        inputs["regions"] = regions
    return inputs
