"""Reading rules out of what a person wrote when rejecting a proposal or thumbing it down.

Deterministic and deliberately narrow: a handful of clear patterns (weekdays to avoid,
channels to drop or cap, hours too early or too late, a lapsed window to use instead).
Anything else is kept as the reason it is and teaches nothing.
"""

from __future__ import annotations

import math
import re
from typing import Any

from agents.memory.rules import Rule, RuleKind, shares_of

WEEKDAY_WORDS = {
    "monday": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "thursday": 3, "thu": 3,
    "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sunday": 6,
}  # fmt: skip
"""Names and unambiguous short forms ("sat", "sun" and "wed" are ordinary words too)."""
CHANNEL_WORDS = {
    "sms": "sms", "texts": "sms", "text message": "sms", "text messages": "sms",
    "email": "email", "emails": "email", "e-mail": "email", "push": "push",
    "push notifications": "push", "social": "social", "search": "search",
    "display": "display", "direct mail": "direct_mail",
}  # fmt: skip
_CH = r"\b(?P<ch>" + "|".join(sorted(map(re.escape, CHANNEL_WORDS), key=len, reverse=True)) + r")\b"
_DAY = r"\b(?:" + "|".join(sorted(WEEKDAY_WORDS, key=len, reverse=True)) + r")s?\b"
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_NEGATION = re.compile(r"\b(?:no|not|never|avoid|don'?t|do not|without|skip|except|nothing)\b")
_PCT = r"(?P<pct>\d{1,3}(?:\.\d+)?)\s*(?:%|percent\b)"
_MAX_SHARE = (
    re.compile(
        _CH + r"(?:\s+(?:share|spend|budget))?\s*(?:under|below|at most|<=|≤|less than|"
        r"no more than|to|at|max(?:imum)?(?: of)?)\s*" + _PCT
    ),
    re.compile(
        r"(?:no more than|at most|max(?:imum)?(?: of)?|under|less than|up to)\s*"
        + _PCT
        + r"\s*(?:of (?:the )?budget\s*)?(?:on|for|to|in|of)?\s*"
        + _CH
    ),
)
_MIN_SHARE = (
    re.compile(
        _CH + r"(?:\s+(?:share|spend|budget))?\s*(?:at least|above|over|>=|≥|"
        r"no less than|min(?:imum)?(?: of)?)\s*" + _PCT
    ),
    re.compile(
        r"(?:at least|no less than|min(?:imum)?(?: of)?)\s*"
        + _PCT
        + r"\s*(?:of (?:the )?budget\s*)?(?:on|for|to|in|of)?\s*"
        + _CH
    ),
)
_TOO_MUCH = re.compile(
    r"too (?P<amount>much|little)\s+(?:money\s+|budget\s+|spend\s+)?"
    r"(?:on|for|in|to|into)?\s*" + _CH
)
_EXCLUDE = re.compile(
    r"\b(?:no|without|drop|remove|skip|exclude|not via|not by|not on|"
    r"don'?t use|do not use|stop using)\s+(?:the\s+|any\s+)?" + _CH
)
_HOUR = re.compile(
    r"(?P<neg>\b(?:not|no(?: sends?)?|nothing|never|don'?t send)\s+)?"
    r"\b(?P<dir>before|after|earlier than|later than)\s+(?P<h>\d{1,2})(?!\d)"
    r"(?::(?P<m>\d{2}))?\s*(?P<ap>am|pm|a\.m\.|p\.m\.)?"
    r"(?!\s*(?:days?|weeks?|months?|st\b|nd\b|rd\b|th\b|/|-|%|\.\d|" + _MONTHS + r"))"
)
_TOO_EARLY = re.compile(r"\btoo (?P<when>early|late)\b(?!\s+in\s+the\s+(?:week|month|year))")
_RECENCY_TARGET = (
    re.compile(
        r"\b(?:use|make it|try|go with|(?:change|set) (?:it )?to)\s+(?P<days>\d{1,4})"
        r"(?![\d.])\s*\+?\s*(?:days?\b|(?=[,;!?)]|\.(?!\d)|$))"
    ),
    re.compile(r"\b(?P<days>\d{1,4})\s*\+?\s*days?\s+instead\b"),
)


def _clauses(text: str) -> list[str]:
    return [c for c in re.split(r"[.;!?\n]|,|\bbut\b", text) if c.strip()]


def _hour(match: re.Match[str]) -> int | None:
    hour = int(match["h"])
    ap = (match["ap"] or "").replace(".", "")
    if ap:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ap == "pm" else 0)
    return hour if 0 <= hour <= 23 else None


def _weekday_rules(text: str) -> list[Rule]:
    excluded: set[int] = set()
    for clause in _clauses(text):
        if not _NEGATION.search(clause):
            continue
        for word in re.findall(_DAY, clause):
            excluded.add(WEEKDAY_WORDS[word.rstrip("s") if word not in WEEKDAY_WORDS else word])
        if re.search(r"\bweekends?\b", clause):
            excluded |= {5, 6}
    if not excluded:
        return []
    return [
        Rule(tool="schedule_send", param="send_weekday", kind="exclude", value=sorted(excluded))
    ]


def _hour_rules(text: str, params: dict[str, Any]) -> list[Rule]:
    rules: list[Rule] = []
    for match in _HOUR.finditer(text):
        hour = _hour(match)
        if hour is None:
            continue
        early = match["dir"] in ("before", "earlier than")
        negated = bool(match["neg"])
        if early == negated:  # "not before 9am", "after 9am": a floor
            rules.append(_hour_rule("min", hour))
        elif early:  # "before 6pm": strictly earlier
            rules.append(_hour_rule("max", max(hour - 1, 0)))
        else:  # "not after 6pm"
            rules.append(_hour_rule("max", hour))
    current = params.get("send_hour_local")
    too = _TOO_EARLY.search(text)
    if not rules and too and isinstance(current, int):
        if too["when"] == "early" and current < 23:
            rules.append(_hour_rule("min", current + 1))
        elif too["when"] == "late" and current > 0:
            rules.append(_hour_rule("max", current - 1))
    return rules


def _hour_rule(kind: RuleKind, hour: int) -> Rule:
    return Rule(tool="schedule_send", param="send_hour_local", kind=kind, value=hour)


def _share_rule(kind: RuleKind, channel: str, share: float) -> Rule:
    share = min(max(share, 0.0), 1.0)
    return Rule(
        tool="allocate_budget",
        param="allocations",
        kind=kind,
        value={"channel": channel, "share": round(share, 4)},
    )


def _channel_rules(text: str, tool: str, params: dict[str, Any]) -> list[Rule]:
    rules: list[Rule] = []
    seen: set[str] = set()
    bounds: tuple[tuple[RuleKind, tuple[re.Pattern[str], ...]], ...] = (
        ("max_share", _MAX_SHARE),
        ("min_share", _MIN_SHARE),
    )
    for kind, patterns in bounds:
        for pattern in patterns:
            for m in pattern.finditer(text):
                channel = CHANNEL_WORDS[m["ch"]]
                if channel not in seen:
                    seen.add(channel)
                    rules.append(_share_rule(kind, channel, float(m["pct"]) / 100))
    allocations = params.get("allocations")
    shares = shares_of(allocations) if isinstance(allocations, dict) else {}
    for m in _TOO_MUCH.finditer(text):
        channel = CHANNEL_WORDS[m["ch"]]
        if channel in seen or channel not in shares:
            continue
        seen.add(channel)
        # Five points below (or above) what was proposed, on a round number.
        points = shares[channel] * 100
        if m["amount"] == "much":
            rules.append(_share_rule("max_share", channel, max(math.floor(points / 5 - 1), 0) / 20))
        else:
            rules.append(_share_rule("min_share", channel, min(math.ceil(points / 5 + 1), 20) / 20))
    for m in _EXCLUDE.finditer(text):
        channel = CHANNEL_WORDS[m["ch"]]
        if channel in seen:
            continue
        seen.add(channel)
        if tool == "allocate_budget" and channel in shares:
            rules.append(_share_rule("max_share", channel, 0.0))
        elif isinstance(params.get("channels"), list) and channel in params["channels"]:
            rules.append(Rule(tool=tool, param="channels", kind="exclude", value=[channel]))
    return rules


def _recency_rules(text: str, tool: str) -> list[Rule]:
    if tool != "build_segment" and not re.search(r"\b(?:days?|recent|lapsed)\b", text):
        return []
    target = next((m for p in _RECENCY_TARGET if (m := p.search(text))), None)
    if target is None:
        return []
    return [
        Rule(
            tool="build_segment",
            param="min_days_since_purchase",
            kind="set",
            value=int(target["days"]),
        )
    ]


def rules_from_reason(text: str, *, tool: str, params: dict[str, Any]) -> list[Rule]:
    """The rules a rejection reason or a thumbs-down comment on an action states clearly.

    `tool` and `params` are the action it was about: "too early" and "too much on SMS"
    are read against what was proposed; "no SMS" drops the channel where it was used.
    """
    lowered = " ".join(text.lower().split())
    rules = _weekday_rules(lowered) + _hour_rules(lowered, params)
    rules += _channel_rules(lowered, tool, params) + _recency_rules(lowered, tool)
    # Two phrasings of the same rule in one reason teach it once.
    unique: dict[tuple[str, str, str, str | None], Rule] = {}
    for rule in rules:
        unique.setdefault((rule.tool, rule.param, rule.kind, rule.channel), rule)
    return list(unique.values())
