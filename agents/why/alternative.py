"""The alternative a "why not ...?" names, and the parameters it would change on an action."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agents.why.question import channels_in, days_in, hour_in, numbers_in, weekday_in, words_of
from db.models import Action
from db.vocabulary import MESSAGING_CHANNELS

_QUOTED = re.compile(r"[\"“]([^\"”]{2,200})[\"”]")


@dataclass(frozen=True)
class Alternative:
    """What a "why not ...?" proposes instead, as parsed from its text."""

    weekday: int | None = None
    hour: int | None = None
    days: int | None = None
    only: tuple[str, ...] = ()
    without: tuple[str, ...] = ()
    amount: tuple[str, float] | None = None
    """(channel, amount): "why not put 800 on SMS?"."""
    share: tuple[str, float] | None = None
    """(channel, fraction of the budget): "why not 30% on SMS?"."""
    budget: float | None = None
    even: bool = False
    subject: str | None = None

    def about(self) -> str | None:
        """What in a plan the alternative would change, in words; None when nothing was read."""
        if self.weekday is not None or self.hour is not None:
            return "send time"
        if self.days is not None:
            return "audience recency window"
        if self.amount or self.share or self.budget is not None or self.even:
            return "budget split"
        if self.only or self.without:
            return "channel choice"
        return "subject line" if self.subject else None


def parse_alternative(text: str) -> Alternative:
    """Read the alternative out of "why not Sunday at 6pm?", "why not only email?" and the like."""
    text = re.sub(r"^\s*why\s+not\b", "", text, flags=re.IGNORECASE).strip()
    quoted = _QUOTED.search(text)
    if quoted:
        return Alternative(subject=quoted.group(1).strip())
    words = words_of(text)
    channels = channels_in(text)
    without = tuple(
        c
        for c in channels
        if re.search(rf"\b(without|no|drop|skip|except|not)\s+{c}\b", text, re.I)
    )
    only = tuple(c for c in channels if c not in without) if {"only", "just"} & words else ()
    percent = re.search(r"(\d+(?:\.\d+)?)\s*%", text)
    amounts = numbers_in(re.sub(r"\d+(?:\.\d+)?\s*%|\b50\s*/\s*50\b", " ", text))
    amount: tuple[str, float] | None = None
    share: tuple[str, float] | None = None
    budget: float | None = None
    targets = [c for c in channels if c not in without]
    if percent and targets:
        share = (targets[0], float(percent.group(1)) / 100)
    elif amounts and targets:
        amount = (targets[0], amounts[0])
    elif amounts and ({"budget", "total", "spend"} & words or "$" in text):
        budget = amounts[0]
    return Alternative(
        weekday=weekday_in(text),
        hour=hour_in(text),
        days=days_in(text),
        only=only if not (amount or share) else (),
        without=without,
        amount=amount,
        share=share,
        budget=budget,
        even=bool({"even", "evenly", "equal", "equally"} & words) or "50/50" in text,
    )


def _split(
    allocations: dict[str, float], total: float, fixed: dict[str, float]
) -> dict[str, float]:
    """Fix some channels' amounts; share what is left of the total among the others as before."""
    rest = [c for c in allocations if c not in fixed]
    left = max(total - sum(fixed.values()), 0.0)
    weight = sum(allocations[c] for c in rest)
    split = {
        c: round(left * allocations[c] / weight if weight else left / len(rest), 2) for c in rest
    }
    result = {c: round(fixed.get(c, split.get(c, 0.0)), 2) for c in {**allocations, **fixed}}
    drift = round(max(total, sum(fixed.values())) - sum(result.values()), 2)
    if drift and rest:
        largest = max(rest, key=lambda c: result[c])
        result[largest] = round(result[largest] + drift, 2)
    return result


def changes_for(action: Action, alt: Alternative) -> dict[str, Any]:
    """The parameters the alternative changes on this action (top-level keys, full values)."""
    params, tool = action.params, action.tool
    changes: dict[str, Any] = {}
    if tool == "schedule_send":
        if alt.weekday is not None:
            changes["send_weekday"] = alt.weekday
        if alt.hour is not None:
            changes["send_hour_local"] = alt.hour
    elif tool in ("build_segment", "launch_campaign"):
        if tool == "build_segment" and alt.days is not None:
            changes["min_days_since_purchase"] = alt.days
        current = list(params.get("channels") or [])
        if alt.only and all(c in MESSAGING_CHANNELS for c in alt.only):
            changes["channels"] = list(alt.only)
        elif alt.without and any(c in current for c in alt.without):
            changes["channels"] = [c for c in current if c not in alt.without]
        if changes.get("channels") == []:
            del changes["channels"]
    elif tool == "allocate_budget":
        allocations: dict[str, float] = dict(params.get("allocations") or {})
        total = float(params.get("budget") or sum(allocations.values()))
        if alt.budget is not None:
            changes["budget"] = alt.budget
        elif alt.amount is not None:
            changes["allocations"] = _split(allocations, total, {alt.amount[0]: alt.amount[1]})
        elif alt.share is not None:
            share = {alt.share[0]: alt.share[1] * total}
            changes["allocations"] = _split(allocations, total, share)
        elif alt.only:
            weights = {c: allocations.get(c, 0.0) if c in alt.only else 0.0
                       for c in {**allocations, **dict.fromkeys(alt.only)}}  # fmt: skip
            if not any(weights.values()):
                weights = {c: float(c in alt.only) for c in weights}
            zeroed = {c: 0.0 for c in weights if c not in alt.only}
            changes["allocations"] = _split(weights, total, zeroed)
        elif alt.without and any(c in allocations for c in alt.without):
            zeroed = {c: 0.0 for c in alt.without if c in allocations}
            changes["allocations"] = _split(allocations, total, zeroed)
        elif alt.even and allocations:
            even = {c: total / len(allocations) for c in allocations}
            changes["allocations"] = _split(even, total, {})
    elif tool == "draft_copy" and alt.subject:
        changes["subject"] = alt.subject
    return changes
