"""Money in a brief: the budget and its currency, and how to write an amount."""

from __future__ import annotations

import re

from agents.planning.quotes import straighten_quotes

DEFAULT_CURRENCY = "USD"
"""The workspace currency, used when a budget is stated without one ("budget 2k")."""

_CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}

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
    text = straighten_quotes(text)
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


def money_phrase(amount: float, currency: str | None) -> str:
    """An amount as a title shows it: "$2,000", "€1,500.50", "800 CAD"."""
    number = f"{amount:,.0f}" if amount == int(amount) else f"{amount:,.2f}"
    symbol = _CURRENCY_SYMBOLS.get(currency or "")
    return f"{symbol}{number}" if symbol else f"{number} {currency or ''}".strip()
