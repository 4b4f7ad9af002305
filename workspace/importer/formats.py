"""The three CSV formats Baton imports: each one's columns, how they parse, which are required."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from db.vocabulary import CHANNELS
from workspace.importer import cells

ImportKind: TypeAlias = Literal["contacts", "events", "spend"]

EVENTS = ("send", "open", "click", "purchase", "unsubscribe", "bounce")
CONSENT_CHANNELS = ("email", "sms", "push")


@dataclass(frozen=True)
class Field:
    """One staged value: its column, how a cell and a batch's column parse, its default."""

    column: str
    parse: Callable[[str], Any]
    parse_all: Callable[[Sequence[str]], list[Any]]
    default: Any = None
    """The value when the column is not in the file."""


_CHANNEL = cells.choice(CHANNELS, "channel")
_EVENT = cells.choice(EVENTS, "event")

FIELDS: dict[str, tuple[Field, ...]] = {
    "contacts": (
        Field("email", cells.email, cells.emails),
        Field("first_name", cells.text, cells.texts, ""),
        Field("last_name", cells.text, cells.texts, ""),
        Field("phone", cells.optional_text, cells.optional_texts),
        Field("country", cells.text, cells.texts, ""),
        Field("region", cells.text, cells.texts, ""),
        Field("timezone", cells.timezone, cells.timezones, "UTC"),
        Field("created_at", cells.timestamp, cells.timestamps),
        Field("email_consent", cells.boolean, cells.booleans, 0),
        Field("sms_consent", cells.boolean, cells.booleans, 0),
        Field("push_consent", cells.boolean, cells.booleans, 0),
        Field("unsubscribed", cells.boolean, cells.booleans, 0),
        Field("lifetime_value", cells.amount, cells.amounts, 0.0),
        Field("orders", cells.count, cells.counts, 0),
        Field("last_purchase_at", cells.timestamp, cells.timestamps),
    ),
    "events": (
        Field("email", cells.email, cells.emails),
        Field("channel", *_CHANNEL),
        Field("event", *_EVENT),
        Field("campaign", cells.text, cells.texts, ""),
        Field("variant", cells.text, cells.texts, ""),
        Field("occurred_at", cells.required_timestamp, cells.required_timestamps),
        Field("revenue", cells.amount, cells.amounts, 0.0),
    ),
    "spend": (
        Field("date", cells.day, cells.days),
        Field("channel", *_CHANNEL),
        Field("campaign", cells.text, cells.texts, ""),
        Field("spend", cells.required_amount, cells.required_amounts),
    ),
}
COLUMNS = {kind: tuple(f.column for f in fields) for kind, fields in FIELDS.items()}
"""Each format's columns, in the order DESIGN.md lists them."""
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("email",),
    "events": ("email", "channel", "event", "occurred_at"),
    "spend": ("date", "channel", "spend"),
}
