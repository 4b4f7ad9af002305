"""Dates in a brief: the campaign's start and end, periods, and recency windows."""

from __future__ import annotations

import calendar
import itertools
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from agents.planning.quotes import straighten_quotes

MONTHS: dict[str, int] = {
    name: number
    for number in range(1, 13)
    for name in {calendar.month_name[number].lower(), calendar.month_abbr[number].lower()}
} | {"sept": 9}
"""Month names and abbreviations, lower case, to the month's number."""
MONTH_PATTERN = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november"
    r"|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
)
"""A month name or abbreviation (compile it case-insensitive)."""
WEEKDAYS = [name.lower() for name in calendar.day_name]
"""Weekday names, lower case, Monday first."""
_DAY = r"[0-3]?\d(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<year>\d{4}))?"
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
    rf"\b(?P<mon>{MONTH_PATTERN})\s+(?P<d1>{_DAY})\s*(?:-|–|—|to|through|thru|until|till)\s*"
    rf"(?P<d2>{_DAY})\b(?!\s*(?:/|:|%|{MONTH_PATTERN}))"
    + _YEAR
    + rf"|\b(?P<d1b>{_DAY})\s*(?:-|–|—|to|through|thru|until|till)\s*(?P<d2b>{_DAY})\s+"
    rf"(?:of\s+)?(?P<monb>{MONTH_PATTERN})(?!\w)",
    re.IGNORECASE,
)
_MONTH_DAY = re.compile(rf"\b(?P<mon>{MONTH_PATTERN})\s+(?P<day>{_DAY})\b{_YEAR}", re.IGNORECASE)
_DAY_MONTH = re.compile(
    rf"\b(?P<day>{_DAY})(?:\s+of)?\s+(?P<mon>{MONTH_PATTERN})(?!\w){_YEAR}", re.IGNORECASE
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
    month = MONTHS[month_name.lower().rstrip(".")]
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
        weekday = WEEKDAYS.index(m["wd"].lower())
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
    text = straighten_quotes(text)
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
    text = straighten_quotes(text)
    hits = [m for pattern in _RECENCY_PATTERNS if (m := pattern.search(text))]
    if not hits:
        return None
    first = min(hits, key=lambda m: m.start("n"))
    return _count(first["n"]) * _UNIT_DAYS[first["unit"].lower().rstrip("s")]
