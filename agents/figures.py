"""How recorded values read in answers: every number shown as the record holds it.

Rates, shares and bands (fractions) become percentages with one decimal, money two decimals,
counts thousands separators; nothing is computed, so each number traces back to the record.
"""

from __future__ import annotations

from typing import Any

from db.vocabulary import WEEKDAYS

_SHARE_WORDS = ("rate", "share", "band", "mde", "lift", "power")
_MONEY_WORDS = ("allocation", "budget", "cost", "spend", "spent", "revenue", "amount")


def format_figure(key: str, value: Any) -> str:
    """A recorded value as text, its numbers shown so they can be traced to the record.

    Rates, shares and bands (fractions) as percentages with one decimal, money with two
    decimals, counts with thousands separators.
    """
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, (int, float)):
        if any(w in key for w in _SHARE_WORDS) and isinstance(value, float) and abs(value) <= 1:
            return f"{value:.1%}"
        if isinstance(value, int):
            return f"{value:,}"
        if any(w in key for w in _MONEY_WORDS):
            return f"{value:,.2f}"
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, dict):
        return ", ".join(f"{k} {format_figure(key, v)}" for k, v in value.items()) or "none"
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and "band" in key and all(isinstance(v, float) for v in value):
            return f"{format_figure(key, value[0])}–{format_figure(key, value[1])}"
        return ", ".join(format_figure(key, v) for v in value) or "none"
    return str(value)


def lookup(data: dict[str, Any], path: str) -> Any:
    """The value at a dotted path ("allocations.sms"), or None."""
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def shown_value(params: dict[str, Any], param: str, value: Any) -> str:
    """A parameter's value as a person reads it ("Tuesday (send_weekday 1)", "USD 417.30")."""
    currency = str(params.get("currency") or "")
    if param == "send_weekday" and isinstance(value, int) and 0 <= value <= 6:
        return f"{WEEKDAYS[value]} (send_weekday {value})"
    if param == "send_hour_local" and isinstance(value, int):
        return f"{value:02d}:00 in each contact's time zone"
    if param.startswith("allocations.") and isinstance(value, (int, float)):
        return f"{currency} {format_figure(param, float(value))}".strip()
    if param in ("allocations", "budget") and currency:
        if isinstance(value, dict):
            return ", ".join(
                f"{c} {currency} {format_figure(param, float(v))}" for c, v in value.items()
            )
        return f"{currency} {format_figure(param, value)}"
    if param in ("subject", "body", "sms_text"):
        return f"“{value}”"
    return format_figure(param, value)
