"""The offline planner: deterministic intent and slot extraction from a brief, no model.

Each slot has its own small extractor (budget, channels, dates, recency, playbook,
audience, KPI) so each can be tested on its own; `extract_goal` composes them and
`plan_offline` turns the goal into steps with the playbook templates.
"""

from __future__ import annotations

import calendar
import itertools
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from agents.planning.goal import Channel, Goal, PlanDraft, Playbook
from agents.playbooks.catalog import (
    SENDING_PLAYBOOKS,
    WINBACK_RECENCY_DAYS,
    channel_phrase,
    steps_for,
)

DEFAULT_CURRENCY = "USD"
"""The workspace currency, used when a budget is stated without one ("budget 2k")."""

DEFAULT_RECENCY_DAYS = WINBACK_RECENCY_DAYS
"""Days without a purchase that make a customer lapsed, when a winback brief does not say."""

DEFAULT_KPIS: dict[Playbook, str] = {
    "winback": "reactivation rate",
    "launch": "conversions",
    "promotion": "revenue",
    "newsletter": "click-through rate",
    # Measurable from workspace events (send, open, click, purchase); meetings are not.
    "event_followup": "click-through rate",
    "lead_nurture": "lead-to-customer conversion rate",
    "budget_review": "ROAS",
    "performance_report": "ROAS",
    "ab_test": "click-through rate lift",
    "audience_build": "reachable audience size",
    "content_review": "brand and compliance pass rate",
}

DEFAULT_CHANNELS: dict[Playbook, tuple[Channel, ...]] = {
    "winback": ("email",),
    "launch": ("email",),
    "promotion": ("email",),
    "newsletter": ("email",),
    "event_followup": ("email",),
    "lead_nurture": ("email",),
    "ab_test": ("email",),
}
"""Channels a playbook uses when the brief names none; playbooks not listed use none."""


def _normalize(text: str) -> str:
    """Straighten typographic quotes so patterns only need the ASCII apostrophe."""
    return text.replace("\u2019", "'").replace("\u2018", "'")


# --- budget -----------------------------------------------------------------------------

_MONEY = re.compile(
    r"""
    (?<![\w.,$€£])
    (?P<pre>[$€£]\s?|\b(?:US\$|USD|EUR|GBP|CAD|AUD)\s?)?
    (?P<num>
        \d{1,3}(?:,\d{3})+(?:\.\d+)?            # 2,000 or 2,000.50
      | \d{1,3}(?:\.\d{3})+(?:,\d{1,2})?(?!\d)  # 1.500 (dot groups thousands)
      | \d+(?:\.\d+)?                           # 1500, 1.5
    )
    (?!\d)(?![/-]\d)
    (?:\s?(?P<mult>k|m|thousand|million)\b)?
    (?:\s?(?P<post>(?:USD|EUR|GBP|CAD|AUD|dollars?|bucks|euros?|pounds?)\b|[€£]))?
    """,
    re.IGNORECASE | re.VERBOSE,
)
_BUDGET_BEFORE = re.compile(
    r"\b(?:budget|spend|spending)"
    r"(?:\s+(?:is|of|at|about|around|roughly|approximately|up\s+to|max|maximum|under|below"
    r"|over|capped\s+at|totall?ing|total)\b|\s*[:=~-])*\s*$",
    re.IGNORECASE,
)
_BUDGET_AFTER = re.compile(r"^\s*(?:total\s+|to\s+)?(?:budget|spend)\b", re.IGNORECASE)
# "customers who spent over $500" describes the audience, not the budget.
_THRESHOLD_BEFORE = re.compile(
    r"\b(?:spent|ltv|lifetime\s+value|orders?|aov|worth|over|above|more\s+than|at\s+least"
    r"|greater\s+than|exceeding)\s*$",
    re.IGNORECASE,
)
_NOT_MONEY_AFTER = re.compile(
    r"^\s*(?:%|percent|x\b|times\b|days?\b|weeks?\b|months?\b|years?\b|hours?\b|minutes?\b"
    r"|customers?\b|contacts?\b|people\b|subscribers?\b|users?\b|leads?\b|orders?\b"
    r"|emails?\b|messages?\b|sends?\b|recipients?\b|visitors?\b|off\b)",
    re.IGNORECASE,
)
_DISCOUNT_AFTER = re.compile(r"^\s*off\b", re.IGNORECASE)
_SUFFIXED_ALONE_AFTER = re.compile(r"^\s*(?:[,;)]|$|\.(?:\s|$))")
_COUNT_BEFORE = re.compile(
    r"\b(?:to|reach|top|first|last|over|than|of|about|around)\s*$", re.IGNORECASE
)
_MULTIPLIERS = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "million": 1_000_000}
_CURRENCY_WORDS = {
    "$": "USD",
    "us$": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "€": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
}


def _parse_number(raw: str) -> float:
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?", raw):
        return float(raw.replace(".", "").replace(",", "."))
    return float(raw.replace(",", ""))


def _currency_code(marker: str | None) -> str | None:
    if not marker:
        return None
    marker = marker.strip().lower()
    return _CURRENCY_WORDS.get(marker, marker.upper())


def extract_budget(text: str) -> tuple[float | None, str | None]:
    """The budget amount and its ISO 4217 currency, or (None, None).

    An amount counts as the budget when it carries a currency ("$2,000", "£900",
    "EUR 1.5k", "500 euros", "3000 dollars"), when it sits next to the word budget or
    spend ("budget of 3000", "a 2k budget"), or when it is a bare "2k"/"1.2m" standing
    alone in a list ("..., 2k, email"). A bare number otherwise is never a budget
    ("90 days", "top 100 customers", "20%", dates), nor is "$10 off" (a discount) or
    "spent over $500" (an audience threshold).
    "k"/"m" multiply by a thousand/million; dots followed by exactly three digits
    group thousands ("€1.500" is 1500). Amounts without a currency get the workspace
    default, USD. When several amounts qualify, the one next to "budget" wins, else
    the first.
    """
    text = _normalize(text)
    candidates: list[tuple[bool, float, str]] = []
    for match in _MONEY.finditer(text):
        before, after = text[: match.start()], text[match.end() :]
        currency = _currency_code(match["post"]) or _currency_code(match["pre"])
        next_to_budget = bool(_BUDGET_BEFORE.search(before[-60:]) or _BUDGET_AFTER.match(after))
        if currency is not None:
            threshold = _THRESHOLD_BEFORE.search(before) or _DISCOUNT_AFTER.match(after)
            if threshold and not next_to_budget:
                continue
        elif next_to_budget:
            if _NOT_MONEY_AFTER.match(after):
                continue
        elif match["mult"] and match["mult"].lower() in ("k", "m"):
            if not _SUFFIXED_ALONE_AFTER.match(after) or _COUNT_BEFORE.search(before):
                continue
        else:
            continue
        amount = _parse_number(match["num"])
        if match["mult"]:
            amount *= _MULTIPLIERS[match["mult"].lower()]
        candidates.append((next_to_budget, amount, currency or DEFAULT_CURRENCY))
    if not candidates:
        return None, None
    _, amount, currency = next((c for c in candidates if c[0]), candidates[0])
    return amount, currency


# --- channels ---------------------------------------------------------------------------

# A word that is also an everyday verb or noun ("push the date", "display the results",
# "search the notes") only counts as a channel next to its channel noun or in a list.
_LIST_BEFORE = r"(?:(?:,|\+|/|&|\band|\bor|\bvia|\bplus|\bthrough|\bon|\bby)\s*)"
_LIST_AFTER = r"(?=\s*(?:,|\+|/|&|\band\b|\bor\b|\.|;|$|\bonly\b))"
_NOT_A_VERB = r"(?!\s+(?:the|it|this|that|them|back|out|forward|ahead|for|to|our|my|a)\b)"


def _ambiguous(word: str, nouns: str) -> str:
    return (
        rf"\b{word}\s+(?:{nouns})\b"
        rf"|{_LIST_BEFORE}\b{word}\b{_NOT_A_VERB}"
        rf"|\b{word}\b{_LIST_AFTER}"
    )


_CHANNEL_SOURCES: tuple[tuple[Channel, str], ...] = (
    ("email", r"\be-?mail(?:s|ing|ed)?\b"),
    (
        "sms",
        r"\bsms\b|\bmms\b|\btext(?:s|ing)\b|\btext\s+messag\w*|\b(?:via|by)\s+text\b"
        r"|\btext\s+(?:them|everyone|customers|subscribers|people|users|vips?|our|all)\b",
    ),
    ("push", _ambiguous("push", r"notifications?|messages?|alerts?")),
    (
        "social",
        r"\bsocial\b|\bfacebook\b|\bfb\b|\binsta(?:gram)?\b|\btik\s?tok\b|\blinked\s?in\b"
        r"|\btwitter\b|\bpinterest\b|\bsnapchat\b|\byoutube\b|\bmeta\s+ads\b",
    ),
    (
        "search",
        r"\bgoogle\s+ads\b|\bbing\s+ads\b|\badwords\b|\bpaid\s+search\b|\bsem\b|\bppc\b"
        r"|\bsearch\s+engine\s+marketing\b|" + _ambiguous("search", r"ads?|campaigns?"),
    ),
    (
        "display",
        r"\bbanners?\b(?!\s+on\s+(?:the\s+)?(?:web)?site)|\bprogrammatic\b|"
        + _ambiguous("display", r"ads?|network|campaigns?|banners?"),
    ),
    ("direct_mail", r"\bdirect\s+mail\w*|\bpostcards?\b|\bsnail\s+mail\b|\bprinted\s+mail"),
    (
        "web",
        r"\bweb\s?sites?\b|\blanding\s+pages?\b|\bhome\s?page\b|\bon-?site\b"
        r"|\bweb\b(?!\s+push)",
    ),
)
_CHANNEL_PATTERNS = tuple(
    (channel, re.compile(pattern, re.IGNORECASE)) for channel, pattern in _CHANNEL_SOURCES
)


def extract_channels(text: str) -> list[Channel]:
    """The channels the brief names, in canonical order (email first, web last).

    Synonyms: "e-mail(s)" email; "SMS", "texts", "text message" sms; "push
    notifications" push; Facebook, Instagram, TikTok, LinkedIn, "social" social;
    "Google Ads", "paid search", "SEM", "search ads" search; "banner", "display ads"
    display; "direct mail", "postcard" direct_mail; "website", "landing page", "web"
    web. Words are matched whole ("research" is not search), and "newsletter" is a
    playbook, not a channel.
    """
    text = _normalize(text)
    return [channel for channel, pattern in _CHANNEL_PATTERNS if pattern.search(text)]


# --- dates ------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number in range(1, 13)
    for name in {calendar.month_name[number].lower(), calendar.month_abbr[number].lower()}
}
_MONTHS["sept"] = 9
_MONTH = r"(?:january|february|march|april|may|june|july|august|september|october|november"
_MONTH += r"|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
_DAY = r"[0-3]?\d(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<year>\d{4}))?"
_WEEKDAYS = [name.lower() for name in calendar.day_name]
_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_COUNT = r"(?:\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}

_RANGE_SAME_MONTH = re.compile(
    rf"\b(?P<mon>{_MONTH})\s+(?P<d1>{_DAY})\s*(?:-|–|—|to|through|thru|until|till)\s*"
    rf"(?P<d2>{_DAY})\b(?!\s*(?:/|:|%|{_MONTH}))"
    + _YEAR
    + rf"|\b(?P<d1b>{_DAY})\s*(?:-|–|—|to|through|thru|until|till)\s*(?P<d2b>{_DAY})\s+"
    rf"(?:of\s+)?(?P<monb>{_MONTH})(?!\w)",
    re.IGNORECASE,
)
_MONTH_DAY = re.compile(rf"\b(?P<mon>{_MONTH})\s+(?P<day>{_DAY})\b{_YEAR}", re.IGNORECASE)
_DAY_MONTH = re.compile(
    rf"\b(?P<day>{_DAY})(?:\s+of)?\s+(?P<mon>{_MONTH})(?!\w){_YEAR}", re.IGNORECASE
)
_ISO_DATE = re.compile(r"\b(?P<year>\d{4})-(?P<mon>\d{1,2})-(?P<day>\d{1,2})\b")
_US_DATE = re.compile(r"\b(?P<mon>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4}|\d{2})\b")
_SINGLE_WORD_DAY = re.compile(r"\b(?P<word>today|tomorrow)\b", re.IGNORECASE)
_IN_SPAN = re.compile(rf"\bin\s+(?P<n>{_COUNT})\s+(?P<unit>days?|weeks?|months?)\b", re.IGNORECASE)
_WEEKDAY = re.compile(
    r"\b(?:(?P<qual>this|next|coming)\s+)?(?P<wd>monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday)\b",
    re.IGNORECASE,
)
_END_OF_MONTH = re.compile(
    r"\b(?:the\s+)?end\s+of\s+(?:the\s+)?(?P<next>next\s+)?month\b|\bmonth[- ]end\b",
    re.IGNORECASE,
)
_PERIOD = re.compile(
    r"\b(?P<which>this|next|last|past)\s+(?P<period>week|month|quarter)\b", re.IGNORECASE
)
_LOOKBACK = re.compile(
    rf"\b(?:in\s+|over\s+|for\s+)?(?:the\s+)?(?:last|past)\s+(?P<n>{_COUNT})\s+"
    r"(?P<unit>days?|weeks?)\b",
    re.IGNORECASE,
)
_END_CUE = re.compile(
    r"\b(?:by|until|till|through|thru|before|ends?|ending|deadline|no\s+later\s+than)"
    r"\s*(?:on\s+|at\s+)?(?:the\s+)?$",
    re.IGNORECASE,
)
_RANGE_GAP = re.compile(r"^\s*(?:-|–|—|to|through|thru|until|till|and)\s*$", re.IGNORECASE)
_BETWEEN_BEFORE = re.compile(r"\bbetween\s+(?:the\s+)?$", re.IGNORECASE)
# "haven't bought in the last 6 months" is a recency window, not a reporting period,
# and "in 90 days" after a purchase word is a recency window, not a future date.
_LAPSE_CONTEXT = re.compile(
    r"\b(?:inactive|lapsed|dormant|churn\w*|haven't|hasn't|have\s+not|has\s+not"
    r"|didn't|did\s+not|no|not|never)\b",
    re.IGNORECASE,
)
_PURCHASE_CONTEXT = re.compile(
    r"\b(?:bought|buy|purchas\w*|order\w*|shop\w*|spent)\b|" + _LAPSE_CONTEXT.pattern,
    re.IGNORECASE,
)
_WEEKDAY_EXCLUDED_BEFORE = re.compile(
    r"\b(?:black|cyber|every|each|no|not|never|avoid|except|skip)\b[^.,;]{0,20}$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _DateMention:
    begin: int
    finish: int
    first: date
    last: date | None
    kind: Literal["point", "range", "period"]
    flexible_year: bool = False
    """A month and day without a year: a later year is fine when the date must move."""


def _clause_before(text: str, index: int) -> str:
    head = text[:index]
    cut = max(head.rfind(mark) for mark in ".,;:!?")
    return head[cut + 1 :]


def _next_occurrence(month: int, day: int, today: date) -> date | None:
    for year in (today.year, today.year + 1, today.year + 2, today.year + 3, today.year + 4):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _month_day(month_name: str, day_text: str, year_text: str | None, today: date) -> date | None:
    month = _MONTHS[month_name.lower().rstrip(".")]
    day = int(re.sub(r"\D", "", day_text))
    if year_text:
        try:
            return date(int(year_text), month, day)
        except ValueError:
            return None
    return _next_occurrence(month, day, today)


def _last_day_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _month_after(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word.lower()]


def _find_mentions(text: str, today: date) -> list[_DateMention]:
    found: list[_DateMention] = []

    def taken(begin: int, finish: int) -> bool:
        return any(begin < m.finish and m.begin < finish for m in found)

    def add(match: re.Match[str], mention: _DateMention | None) -> None:
        if mention is not None and not taken(match.start(), match.end()):
            found.append(mention)

    for m in _RANGE_SAME_MONTH.finditer(text):
        mon = m["mon"] or m["monb"]
        d1, d2 = m["d1"] or m["d1b"], m["d2"] or m["d2b"]
        first = _month_day(mon, d1, m["year"], today)
        last = _month_day(mon, d2, str(first.year), today) if first else None
        if first and last:
            add(m, _DateMention(m.start(), m.end(), first, last, "range", not m["year"]))
    for pattern in (_ISO_DATE, _US_DATE, _MONTH_DAY, _DAY_MONTH):
        for m in pattern.finditer(text):
            year_text = m["year"]
            if pattern is _US_DATE and len(year_text) == 2:
                year_text = f"20{year_text}"
            if m["mon"].isdigit():
                try:
                    point: date | None = date(int(year_text), int(m["mon"]), int(m["day"]))
                except ValueError:
                    point = None
            else:
                point = _month_day(m["mon"], m["day"], year_text, today)
            if point:
                add(m, _DateMention(m.start(), m.end(), point, None, "point", not year_text))
    for m in _SINGLE_WORD_DAY.finditer(text):
        offset = 1 if m["word"].lower() == "tomorrow" else 0
        add(m, _DateMention(m.start(), m.end(), today + timedelta(days=offset), None, "point"))
    for m in _END_OF_MONTH.finditer(text):
        base = _month_after(today) if m["next"] else today
        last_day = _last_day_of_month(base.year, base.month)
        add(m, _DateMention(m.start(), m.end(), last_day, None, "point"))
    for m in _IN_SPAN.finditer(text):
        if _PURCHASE_CONTEXT.search(_clause_before(text, m.start())):
            continue
        unit = m["unit"].lower().rstrip("s")
        n = _count(m["n"])
        point = (
            _add_months(today, n) if unit == "month" else today + timedelta(_UNIT_DAYS[unit] * n)
        )
        add(m, _DateMention(m.start(), m.end(), point, None, "point"))
    for m in _LOOKBACK.finditer(text):
        if _LAPSE_CONTEXT.search(_clause_before(text, m.start())):
            continue
        days = _count(m["n"]) * _UNIT_DAYS[m["unit"].lower().rstrip("s")]
        first = today - timedelta(days=days)
        add(m, _DateMention(m.start(), m.end(), first, today - timedelta(days=1), "period"))
    for m in _PERIOD.finditer(text):
        which, period = m["which"].lower(), m["period"].lower()
        if which in ("last", "past") and _LAPSE_CONTEXT.search(_clause_before(text, m.start())):
            continue
        add(m, _period_mention(m, which, period, today))
    for m in _WEEKDAY.finditer(text):
        if _WEEKDAY_EXCLUDED_BEFORE.search(text[: m.start()]):
            continue
        weekday = _WEEKDAYS.index(m["wd"].lower())
        ahead = (weekday - today.weekday()) % 7
        if ahead == 0 and (m["qual"] or "").lower() != "this":
            ahead = 7
        point = today + timedelta(days=ahead)
        add(m, _DateMention(m.start(), m.end(), point, None, "point"))
    return sorted(found, key=lambda mention: mention.begin)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _period_mention(match: re.Match[str], which: str, period: str, today: date) -> _DateMention:
    if period == "week":
        monday = today - timedelta(days=today.weekday())
        if which == "this":
            first, last = today, monday + timedelta(days=6)
        elif which == "next":
            first = monday + timedelta(days=7)
            last = first + timedelta(days=6)
        else:
            first = monday - timedelta(days=7)
            last = first + timedelta(days=6)
    else:
        months = 3 if period == "quarter" else 1
        current = today.replace(month=today.month - (today.month - 1) % months, day=1)
        step = {"this": 0, "next": months}.get(which, -months)
        first = _add_months(current, step)
        last = _add_months(first, months) - timedelta(days=1)
        if which == "this":
            first = today
    return _DateMention(match.start(), match.end(), first, last, "period")


def _ordered(start: date, end: date, flexible_year: bool) -> tuple[date, date | None]:
    """Move an end without a year past the start; drop an end that still precedes it."""
    moved: date | None = end
    while moved is not None and moved < start and flexible_year:
        moved = _next_occurrence(end.month, end.day, moved + timedelta(days=1))
    return start, (moved if moved is not None and moved >= start else None)


def extract_dates(text: str, *, today: date) -> tuple[date | None, date | None]:
    """The campaign's (start, end), resolved against `today`; either may be None.

    Understands explicit dates ("December 3", "Dec 3", "3 December", "2026-12-01",
    US "12/01/2026"), ranges ("from Dec 1 to Dec 14", "Dec 1-14", "between ... and
    ..."), and relative phrases: "tomorrow", "today", "in 2 weeks", "this/next week"
    (next week runs Monday to Sunday), "this/next/last month", "end of month", "the
    last 30 days", and weekdays ("on Friday" is the next Friday after today). A date
    without a year is its next occurrence on or after today. A single date after
    "by", "until", "before" or "ends" is the end (a deadline); any other is the start.
    Recency windows ("haven't bought in 90 days") and "Black Friday" are not dates.
    """
    text = _normalize(text)
    mentions = _find_mentions(text, today)
    for mention in mentions:
        if mention.kind == "range" and mention.last is not None:
            return _ordered(mention.first, mention.last, mention.flexible_year)
    points = [m for m in mentions if m.kind == "point"]
    for a, b in itertools.pairwise(points):
        gap = text[a.finish : b.begin]
        if _RANGE_GAP.match(gap) and (
            gap.strip().lower() != "and" or _BETWEEN_BEFORE.search(text[: a.begin])
        ):
            return _ordered(a.first, b.first, b.flexible_year)
    start: date | None = None
    end: date | None = None
    end_flexible = False
    for point in points:
        if _END_CUE.search(text[max(0, point.begin - 30) : point.begin]):
            if end is None:
                end, end_flexible = point.first, point.flexible_year
        elif start is None:
            start = point.first
    period = next((m for m in mentions if m.kind == "period"), None)
    if period is not None and period.last is not None:
        if start is None and (end is None or period.first <= end):
            start = period.first
        if end is None and period.last >= (start or period.first):
            end = period.last
    if start is not None and end is not None:
        return _ordered(start, end, end_flexible)
    return start, end


# --- recency ----------------------------------------------------------------------------

_SPAN = rf"\b(?P<n>{_COUNT})\s*\+?\s*-?\s*(?P<unit>days?|weeks?|months?|years?)\b"
_RECENCY_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # "haven't bought (anything) in the last 6 months", "has not ordered for 60 days"
        r"\b(?:haven't|have\s+not|hasn't|has\s+not|didn't|did\s+not|not|never)\s+"
        r"(?:\w+\s+){0,2}?(?:bought|purchased|ordered|shopped|made\s+a\s+purchase"
        r"|placed\s+an\s+order|been\s+active|returned|come\s+back|visited)\b[^.;,]{0,30}?"
        r"\b(?:in|for|within|over)\s+(?:the\s+)?(?:last\s+|past\s+)?"
        r"(?:over\s+|more\s+than\s+|at\s+least\s+)?" + _SPAN,
        # "lapsed 90 days", "inactive for 3 months", "lapsed customers (90+ days)"
        r"\b(?:lapsed|inactive|dormant|churned|no\s+purchases?|no\s+orders?)"
        r"(?:\s+(?:for|over|in|within|more\s+than|at\s+least|about|around|the|last|past"
        r"|customers|subscribers|users|contacts|buyers|shoppers|members)\b|\s*[(:])*\s*" + _SPAN,
        # "bought twice but not in the last 60 days"
        r"\b(?:bought|purchased|ordered|shopped)\b[^.;]{0,30}?\bnot\s+(?:in|for|within)\s+"
        r"(?:the\s+)?(?:last\s+|past\s+)?" + _SPAN,
        # "90 days since their last purchase", "60 days without an order"
        _SPAN + r"\s+(?:since|without)\s+(?:a|an|any|their|the)?\s*(?:last\s+)?"
        r"(?:purchase|order)",
        # "last purchase over 90 days ago"
        r"\blast\s+(?:purchase|order)\w*\s+(?:was\s+)?(?:over\s+|more\s+than\s+)?"
        + _SPAN
        + r"\s+ago",
        # "90-day lapsed customers"
        r"\b(?P<n>\d+)[- ](?P<unit>day|week|month)[- ](?:lapsed|inactive|dormant)\b",
        # "90+ days"
        r"\b(?P<n>\d+)\s*\+\s*(?P<unit>days?|weeks?|months?)\b",
    )
)


def extract_recency_days(text: str) -> int | None:
    """Days without a purchase that define the lapsed audience, or None.

    "haven't bought in 90 days", "lapsed 90 days", "90+ days", "inactive for 3
    months" (a month counts 30 days, a year 365). A window only counts when it is
    about not buying ("haven't bought anything in the last 6 months"), never about
    buying ("bought in the last 6 months"). "haven't purchased since March" is out of
    scope and gives None.
    """
    text = _normalize(text)
    hits = [m for pattern in _RECENCY_PATTERNS if (m := pattern.search(text))]
    if not hits:
        return None
    first = min(hits, key=lambda m: m.start("n"))
    return _count(first["n"]) * _UNIT_DAYS[first["unit"].lower().rstrip("s")]


# --- playbook ---------------------------------------------------------------------------


def _rule(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_SEND_INTENT = _rule(
    r"\b(?:send|sends|sending|campaign|launch|blast|promote|announce|email\s+them"
    r"|text\s+them|message\s+them|reach\s+out)\b"
)
_AUDIENCE_REQUEST = _rule(
    r"\b(?:build|create|make|define|pull|export|find|show|get|give\s+me)\s+(?:me\s+)?"
    r"(?:(?:a|an|the|my|our)\s+)?(?:[\w-]+\s+){0,3}?(?:segment|audience|list|cohort)s?\b"
    r"|\bfind\s+(?:me\s+)?(?:all\s+)?(?:the\s+|our\s+|my\s+)?(?:\w+\s+)?"
    r"(?:customers|contacts|subscribers|people|users|buyers|shoppers)\b"
    r"|\blist\s+of\b|\bwho\s+(?:are|were)\s+(?:my|our)\b"
    r"|\bhow\s+many\s+(?:\w+\s+)?(?:customers|contacts|subscribers|people|users)\b"
)
_AUDIENCE_WORDS = _rule(r"\b(?:segments?|audiences?|cohorts?)\b")
# Inviting people to an upcoming event is a promotion, not a follow-up.
_EVENT_INVITE = _rule(
    r"\b(?:promot\w*|invit\w*|register|registration|sign\s+up\s+for|upcoming|ahead\s+of)\b"
)
_FOLLOW_UP = _rule(
    r"\bfollow[- ]?up|\battendees?\b|\bafter\s+the\b|\bthank\b"
    r"|\bwho\s+(?:attended|came|joined|visited)\b"
)

# (playbook, pattern), tried top to bottom; the first that matches wins. Why this order:
# a review or a test request is explicit even when the copy under review or test is a
# promotion; budget questions beat general reporting ("how is my budget pacing");
# a reporting question ("how did last month's promo do?") beats the campaign it names;
# a request for an audience only beats campaigns when nothing is to be sent; specific
# campaign types (event, winback, nurture, newsletter, a new product) beat a generic
# promotion, and the bare word "launch" ("launch a sale") only decides when nothing
# else does. Weak single words (report, segment, event) come last.
_PLAYBOOK_RULES: tuple[tuple[Playbook, re.Pattern[str]], ...] = (
    (
        "content_review",
        _rule(
            r"\bproof-?read\w*|\b(?:review|check|look\s+over|critique|edit|improve)\s+"
            r"(?:this|these|the|my|our)\s+(?:[\w-]+\s+){0,2}?(?:copy|e-?mails?|texts?|drafts?"
            r"|messages?|subject\s+lines?|ads?|headlines?|posts?|sms|wording)\b"
            r"(?!\s+(?:performance|results|metrics|numbers|stats|kpis?|open|click|campaign))"
            r"|\bbrand\s+(?:check|voice\s+check|review)\b|\bis\s+this\s+(?:\w+\s+)?"
            r"(?:on[- ]brand|compliant)\b|\bon[- ]brand\s*\?"
        ),
    ),
    (
        "ab_test",
        _rule(
            r"\ba\s*/\s*b(?:\s*/\s*n)?\b|\bab[- ]test|\bsplit[- ]test|\bmultivariate\b"
            r"|\bexperiment\w*|\bvariants?\b|\btest\s+(?:\w+\s+){0,2}?(?:subject\s+lines?"
            r"|headlines?|versions?|send\s+times?|offers?|ctas?|copy|images?)\b"
            r"|\bwhich\s+(?:subject\s+line|version|variant|headline)\b"
        ),
    ),
    (
        "budget_review",
        _rule(
            r"\bbudget\s+(?:review|check|pacing|health|status|performance|allocation)\b"
            r"|\breallocat\w*|\brebalanc\w*|\bpacing\b|\b(?:over|under)[- ]?spen(?:d|t|ding)\b"
            r"|\bhow\s+(?:is|are|'s)\s+(?:my|our|the)\s+(?:\w+\s+)?(?:budget|spend)\b"
            r"|\b(?:move|shift)\s+(?:the\s+|some\s+|more\s+)?(?:budget|spend)\b"
            r"|\bis\s+(?:my|our|the)\s+(?:\w+\s+)?(?:budget|spend)\s+on\s+track\b"
            r"|\breview\s+(?:the\s+|my\s+|our\s+)?(?:\w+\s+)?(?:budget|spend)\b"
        ),
    ),
    (
        "performance_report",
        _rule(
            r"\bhow\s+(?:did|was|were)\b|\bhow\s+(?:is|are|'s)\s+(?:\w+\s+){1,4}?"
            r"(?:doing|performing|tracking|going)\b|\bkpis?\b|\bdashboard\b|\breport\s+(?:on|for)\b"
            r"|\b(?:performance|weekly|monthly|quarterly|campaign|channel)\s+"
            r"(?:report|summary|recap)\b|\blast\s+(?:month|week|quarter)'s\b"
            r"|\b(?:summari[sz]e|recap)\b|\bresults\s+(?:of|from|for)\b|\bwhat\s+(?:worked|happened)\b"
        ),
    ),
    ("audience_build", _AUDIENCE_REQUEST),
    (
        "event_followup",
        _rule(
            r"\bwebinars?\b|\bconferences?\b|\battendees?\b|\bregistrants\b|\btrade[- ]?shows?\b"
            r"|\bsummit\b|\bmeetups?\b|\bbooth\b|\bevent\s+follow[- ]?up"
            r"|\b(?:after|from|at)\s+(?:the|our|this|last\s+week's|yesterday's)\s+(?:\w+\s+)?event\b"
        ),
    ),
    (
        # Before winback: "signups who haven't purchased yet" never bought, so they are not lapsed.
        "lead_nurture",
        _rule(
            r"\bnurtur\w*|\bonboard\w*|\bwelcome\s+(?:series|flow|sequence|journey)\b"
            r"|\b(?:haven't|hasn't|have\s+not|has\s+not)\s+(?:\w+\s+)?(?:bought|purchased"
            r"|ordered)\s+(?:anything\s+)?yet\b|\bnever\s+(?:bought|purchased|ordered)\b"
        ),
    ),
    (
        "winback",
        _rule(
            r"\bwin[- ]?back\b|\blapsed\b|\bre-?engag\w*|\breactivat\w*|\bchurned\b|\bdormant\b"
            r"|\b(?:haven't|hasn't|have\s+not|has\s+not)\s+(?:\w+\s+)?(?:bought|purchased"
            r"|ordered|shopped)|\binactive\b|\bwe\s+miss\s+you\b|\bcome\s+back\b|\bbring\s+back\b"
        ),
    ),
    (
        "lead_nurture",
        _rule(
            r"\bleads?\b|\bnurtur\w*|\btrials?\b|\bsign[- ]?ups?\b|\bonboard\w*"
            r"|\bwelcome\s+(?:series|flow|sequence|journey|e-?mails?)\b|\bnew\s+registrations\b"
        ),
    ),
    ("newsletter", _rule(r"\bnewsletters?\b|\bdigest\b|\bround-?up\b|\bmonthly\s+update\b")),
    (
        "launch",
        _rule(
            r"\bnew\s+(?:product|collection|line|feature|range|flavou?r|model|release|app"
            r"|service|menu|program|programme|store|location)s?\b|\bintroduc\w*|\bannounc\w*|\bunveil\w*|\bproduct\s+launch\b"
            r"|\bpre-?orders?\b|\bcoming\s+soon\b|\blaunch(?:ing)?\s+(?:of\s+)?(?:our|the|a|my)"
            r"\s+new\b"
        ),
    ),
    (
        "promotion",
        _rule(
            r"\bsales?\b|\bpromos?\b|\bpromot\w*|\bdiscount\w*|\d+\s*%\s*off\b|\bpercent\s+off\b"
            r"|\bblack\s+friday\b|\bcyber\s+monday\b|\boffers?\b|\bcoupons?\b|\bdeals?\b"
            r"|\bclearance\b|\bfree\s+shipping\b|\bbogo\b|[$€£]\d+\s+off\b|\bflash\b"
        ),
    ),
    (
        "performance_report",
        _rule(r"\breports?\b|\bresults\b|\bperformance\b|\bmetrics\b|\banalytics\b|\bROAS\b"),
    ),
    ("audience_build", _AUDIENCE_WORDS),
    ("event_followup", _rule(r"\bevents?\b")),
    ("launch", _rule(r"\blaunch\w*|\brelease\b")),
)
FALLBACK_PLAYBOOK: Playbook = "promotion"
"""A brief that names no playbook is treated as a one-off campaign."""


def classify_playbook(text: str) -> Playbook:
    """The playbook a brief asks for, by keyword rules in a fixed priority order.

    Priority, highest first: content_review (review/proofread this copy, brand check),
    ab_test (A/B, split test, experiment, variants), budget_review (budget review,
    reallocate, pacing, over/underspend, "how is my budget"), performance_report
    (questions: how did, KPIs, dashboard, report on, last month's), audience_build
    (build a segment, find customers who, list of; only when nothing is to be sent),
    event_followup, winback, lead_nurture, newsletter, launch (new product, introduce,
    announce), promotion (sale, promo, discount, % off, Black Friday, offer); then the
    weak single words report/results/performance, segment/audience, event, launch.
    A brief matching none is a promotion.
    """
    text = _normalize(text)
    sends = bool(_SEND_INTENT.search(text))
    invites = bool(_EVENT_INVITE.search(text)) and not _FOLLOW_UP.search(text)
    for playbook, pattern in _PLAYBOOK_RULES:
        if (playbook == "audience_build" and sends) or (playbook == "event_followup" and invites):
            continue
        if pattern.search(text):
            return playbook
    return FALLBACK_PLAYBOOK


# --- audience ---------------------------------------------------------------------------

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
_WEEKDAY_NAMES = "|".join(_WEEKDAYS)
_CLAUSE_STOP = (
    r"(?=\s*(?:[,;:!?()]|\.(?:\s|$)|$)"
    r"|\s+(?:via|using|through|starting|beginning|budget|with\s+an?\b"
    r"|and\s+(?:e-?mail|sms|push|texts?|social)\b"
    r"|(?:by|on|before|until|from)\s+(?:e-?mail|sms|text|push|the\s+end|end|tomorrow|next|this"
    r"|\d|" + _WEEKDAY_NAMES + "|" + _MONTH + r")"
    r"|(?:next|this)\s+(?:week|month)|for\s+[$€£\d]|in\s+(?:e-?mail|sms)\b|tomorrow|today"
    r"|\d+(?:\.\d+)?\s*k\b))"
)
_RELATIVE_AUDIENCE = _rule(
    rf"\b(?:{_QUALIFIER}\s+)*{_PEOPLE}(?:\s+in\s+(?:the\s+)?[A-Z][\w.]*)?\s+(?:who|that|whose)"
    rf"\s+.+?{_CLAUSE_STOP}"
)
_NOT_A_PLACE = set(_MONTHS) | set(_WEEKDAYS) | {"email", "sms", "the", "our", "a"}
_REGION_AUDIENCE = re.compile(
    rf"(?i:\b(?:{_QUALIFIER}\s+)*{_PEOPLE})\s+(?:in|from)\s+(?:the\s+)?"
    r"(?P<place>[A-Z][\w.]*(?:\s+[A-Z][\w.]*)*)"
)
_QUALIFIED_AUDIENCE = _rule(
    rf"\b(?:{_QUALIFIER}[\s-]+)+{_PEOPLE}\b|(?<=\s)(?:e-?mail|sms)\s+(?:subscribers|contacts)\b"
)
_BARE_AUDIENCE = _rule(r"\b(?:leads|signups|sign-ups|registrants|attendees|vips)\b")


def extract_audience(text: str, playbook: Playbook, recency_days: int | None) -> str | None:
    """A short description of who the brief targets, in its own words, or None.

    Tried in order: a relative clause ("customers who haven't bought in 90 days"),
    people in a place ("subscribers in Europe"), qualified people ("VIP customers",
    "lapsed customers", "webinar attendees"), bare groups ("leads"). A winback brief
    that only states a recency window ("lapsed 90 days, $2k") becomes "customers who
    haven't bought in N days"; otherwise None.
    """
    text = _normalize(text)
    found = _RELATIVE_AUDIENCE.search(text)
    if found:
        return found.group(0).strip()
    for found in _REGION_AUDIENCE.finditer(text):
        if found["place"].split()[0].lower() not in _NOT_A_PLACE:
            return found.group(0).strip()
    found = _QUALIFIED_AUDIENCE.search(text) or _BARE_AUDIENCE.search(text)
    if found:
        return found.group(0).strip()
    if playbook == "winback" and recency_days is not None:
        return f"customers who haven't bought in {recency_days} days"
    return None


# --- KPI, objective, review text --------------------------------------------------------

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
    text = _normalize(text)
    return next((kpi for kpi, pattern in _KPI_PATTERNS if pattern.search(text)), None)


def compose_objective(playbook: Playbook, audience: str | None, channels: list[Channel]) -> str:
    """One clean sentence naming the work, the audience and the channels."""
    lead: dict[Playbook, str] = {
        "winback": f"Win back {audience or 'lapsed customers'}",
        "launch": "Launch the new product" + (f" to {audience}" if audience else ""),
        "promotion": f"Drive sales with a promotion to {audience or 'the customer base'}",
        "newsletter": f"Send the newsletter to {audience or 'subscribers'}",
        "event_followup": f"Follow up with {audience or 'event attendees'}",
        "lead_nurture": f"Turn {audience or 'new leads'} into first-time customers",
        "budget_review": "Check budget pacing and reallocate spend where it works best",
        "performance_report": "Report campaign performance and what drove it",
        "ab_test": "Find the better variant with an A/B test"
        + (f" on {audience}" if audience else ""),
        "audience_build": f"Build an audience of {audience}" if audience else "Build an audience",
        "content_review": "Review the copy for brand voice and compliance",
    }
    sentence = lead[playbook]
    if channels:
        joiner = " across " if playbook in ("budget_review", "performance_report") else " via "
        sentence += joiner + channel_phrase(channels)
    return sentence[0].upper() + sentence[1:]


_QUOTED = re.compile(r"\"(?P<a>[^\"]+)\"|“(?P<b>[^”]+)”|«(?P<c>[^»]+)»")
_AFTER_COLON = re.compile(r":\s*(?P<rest>\S.*)\Z", re.DOTALL)


def extract_review_text(text: str) -> str | None:
    """The copy a brief asks to review: the first quoted passage, else what follows a colon."""
    found = _QUOTED.search(text)
    if found:
        return (found["a"] or found["b"] or found["c"]).strip()
    found = _AFTER_COLON.search(text)
    return found["rest"].strip() if found else None


# --- goal and plan ----------------------------------------------------------------------


def extract_goal(brief: str, *, today: date) -> Goal:
    """The structured goal of a brief, with playbook defaults where the brief is silent.

    Slots are read from the brief without its quoted passages: quoted text is copy
    ("Save $20 tomorrow!"), not instructions. A campaign cannot run in the past, so a
    sending playbook ignores a date window that ended before today ("signups from the
    last 30 days" describes the audience, not the schedule).
    """
    playbook = classify_playbook(brief)
    instructions = _QUOTED.sub(" ", brief)
    budget, currency = extract_budget(instructions)
    channels = extract_channels(instructions) or list(DEFAULT_CHANNELS.get(playbook, ()))
    start, end = extract_dates(instructions, today=today)
    if playbook in SENDING_PLAYBOOKS and end is not None and end < today:
        start, end = None, None
    stated_recency = extract_recency_days(instructions)
    audience = extract_audience(instructions, playbook, stated_recency)
    recency = stated_recency
    if recency is None and playbook == "winback":
        recency = DEFAULT_RECENCY_DAYS
    return Goal(
        objective=compose_objective(playbook, audience, channels),
        playbook=playbook,
        kpi=extract_kpi(instructions) or DEFAULT_KPIS[playbook],
        budget=budget,
        currency=currency,
        channels=channels,
        audience=audience,
        start=start,
        end=end,
        recency_days=recency,
    )


def plan_offline(brief: str, *, today: date) -> PlanDraft:
    """Plan a brief without a model: extract the goal, then lay out its playbook's steps."""
    if not brief.strip():
        raise ValueError("The brief is empty.")
    goal = extract_goal(brief, today=today)
    review_text = extract_review_text(brief) if goal.playbook == "content_review" else None
    return PlanDraft(goal=goal, steps=steps_for(goal, review_text=review_text), planner="offline")
