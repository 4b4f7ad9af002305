"""Who a brief targets and what it measures: audience phrases, the KPI, the objective."""

from __future__ import annotations

import re

from agents.planning.channels import channel_phrase
from agents.planning.dates import MONTH_PATTERN, MONTHS, WEEKDAYS
from agents.planning.goal import PlaybookName
from agents.planning.quotes import straighten_quotes
from agents.playbooks.registry import playbook_for
from db.vocabulary import Channel


def _rule(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_PEOPLE = (
    r"(?:customers|subscribers|users|contacts|buyers|shoppers|members|clients|people|readers"
    r"|everyone|everybody"
    r"|fans|visitors|leads|signups|sign-ups|registrants|attendees|accounts|vips)"
)
_QUALIFIER = (
    r"(?:lapsed|vip|loyal|best|top|new|inactive|dormant|churned|high[- ]value|repeat"
    r"|first[- ]time|active|engaged|lost|existing|recent|returning|former|trial|webinar|event"
    r"|conference"
    r"|newsletter|mobile|app|premium|wholesale|european|american|british|canadian"
    r"|german|french|local|online|young|b2b|b2c)"
)
_WEEKDAY_NAMES = "|".join(WEEKDAYS)
_CLAUSE_STOP = (
    r"(?=\s*(?:[,;:!?()]|\.(?:\s|$)|$)"
    r"|\s+(?:via|using|through|starting|beginning|budget|with\s+an?\b"
    r"|and\s+(?:e-?mail|sms|push|texts?|social)\b"
    r"|(?:by|on|before|until|from)\s+(?:e-?mail|sms|text|push|the\s+end|end|tomorrow|next|this"
    r"|\d|" + _WEEKDAY_NAMES + "|" + MONTH_PATTERN + r")"
    r"|(?:next|this)\s+(?:week|month)|for\s+[$€£\d]|in\s+(?:e-?mail|sms)\b|tomorrow|today"
    r"|\d+(?:\.\d+)?\s*k\b))"
)
_RELATIVE_AUDIENCE = _rule(
    rf"\b(?:{_QUALIFIER}\s+)*{_PEOPLE}(?:\s+in\s+(?:the\s+)?[A-Z][\w.]*)?\s+(?:who|that|whose)"
    rf"\s+.+?{_CLAUSE_STOP}"
)
_NOT_A_PLACE = set(MONTHS) | set(WEEKDAYS) | {"email", "sms", "the", "our", "a"}
_REGION_AUDIENCE = re.compile(
    rf"(?i:\b(?:{_QUALIFIER}\s+)*{_PEOPLE})\s+(?:in|from)\s+(?:the\s+)?"
    r"(?P<place>[A-Z][\w.]*(?:\s+[A-Z][\w.]*)*)"
)
_QUALIFIED_AUDIENCE = _rule(
    rf"\b(?:{_QUALIFIER}[\s-]+)+{_PEOPLE}\b|(?<=\s)(?:e-?mail|sms)\s+(?:subscribers|contacts)\b"
)
_BARE_AUDIENCE = _rule(r"\b(?:leads|signups|sign-ups|registrants|attendees|vips)\b")


def extract_audience(text: str, playbook: PlaybookName, recency_days: int | None) -> str | None:
    """A short description of who the brief targets, in its own words, or None.

    Tried in order: a relative clause ("customers who haven't bought in 90 days"),
    people in a place ("subscribers in Europe"), qualified people ("VIP customers",
    "lapsed customers", "webinar attendees"), bare groups ("leads"). A brief for a
    playbook about lapsed buyers (winback) that only states a recency window ("lapsed 90
    days, $2k") becomes "customers who haven't bought in N days"; otherwise None.
    """
    text = straighten_quotes(text)
    found = _RELATIVE_AUDIENCE.search(text)
    if found:
        return found.group(0).strip()
    for found in _REGION_AUDIENCE.finditer(text):
        if found["place"].split()[0].lower() not in _NOT_A_PLACE:
            return found.group(0).strip()
    found = _QUALIFIED_AUDIENCE.search(text) or _BARE_AUDIENCE.search(text)
    if found:
        return found.group(0).strip()
    if recency_days is not None and playbook_for(playbook).recency_days is not None:
        return f"customers who haven't bought in {recency_days} days"
    return None


# --- KPI and objective ------------------------------------------------------------------

_KPI_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kpi, _rule(pattern))
    for kpi, pattern in (
        ("open rate", r"\bopen\s+rates?\b"),
        ("click-through rate", r"\bclick[- ]?through\s+rates?\b|\bctr\b"),
        ("conversion rate", r"\bconversion\s+rates?\b"),
        ("reactivation rate", r"\breactivation\s+rates?\b"),
        ("unsubscribe rate", r"\bunsubscribe\s+rates?\b"),
        ("ROAS", r"\broas\b|\breturn\s+on\s+ad\s+spend\b"),
        ("CPA", r"\bcpa\b|\bcost\s+per\s+(?:acquisition|conversion)\b"),
        ("revenue", r"\b(?:maximi[sz]e|drive|grow|increase|boost)\s+(?:\w+\s+)?revenue\b"),
    )
)


def extract_kpi(text: str) -> str | None:
    """The KPI the brief names explicitly ("measure open rate", "ROAS"), or None."""
    text = straighten_quotes(text)
    return next((kpi for kpi, pattern in _KPI_PATTERNS if pattern.search(text)), None)


def compose_objective(playbook: PlaybookName, audience: str | None, channels: list[Channel]) -> str:
    """One clean sentence naming the work, the audience and the channels."""
    record = playbook_for(playbook)
    sentence = record.objective_for(audience)
    if channels:
        sentence += f" {record.channel_joiner} {channel_phrase(channels)}"
    return sentence[0].upper() + sentence[1:]
