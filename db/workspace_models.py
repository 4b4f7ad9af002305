"""Tables of the marketing workspace: contacts, events, spend, brand, consent history, notes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from db.fields import json_field


class Contact(SQLModel, table=True):
    """One person the marketer may reach, with consent per channel."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True)
    first_name: str = ""
    last_name: str = ""
    phone: str | None = None
    country: str = ""
    region: str = ""
    timezone: str = "UTC"
    created_at: datetime
    email_consent: bool = False
    sms_consent: bool = False
    push_consent: bool = False
    unsubscribed: bool = False
    bounced: bool = False
    lifetime_value: float = 0.0
    orders: int = 0
    last_purchase_at: datetime | None = Field(default=None, index=True)
    attributes: dict[str, Any] = json_field({})


class Event(SQLModel, table=True):
    """A send, open, click, purchase, unsubscribe or bounce."""

    __table_args__ = (
        Index("ix_event_kind_time", "event", "occurred_at"),
        Index("ix_event_contact_kind_time", "contact_id", "event", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id")
    channel: str
    event: str
    campaign: str = ""
    variant: str = ""
    occurred_at: datetime
    revenue: float = 0.0


class Spend(SQLModel, table=True):
    """Money spent on one channel and campaign on one day."""

    __table_args__ = (Index("ix_spend_date_channel", "date", "channel"),)

    id: int | None = Field(default=None, primary_key=True)
    date: date
    channel: str
    campaign: str = ""
    spend: float


class BrandProfile(SQLModel, table=True):
    """The brand's voice and the words it never uses (one row per workspace)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str
    voice: str
    sender_name: str
    tagline: str = ""
    banned_phrases: list[str] = json_field([])
    required_disclaimers: list[str] = json_field([])
    competitors: list[str] = json_field([])


class ConsentChange(SQLModel, table=True):
    """One change of a contact's consent on one channel: when it happened and where it came from."""

    __table_args__ = (Index("ix_consent_contact_channel", "contact_id", "channel", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id")
    channel: str
    granted: bool
    at: datetime
    source: str
    """Where the change came from: "demo", "import:contacts.csv", "unsubscribe event"..."""


class Note(SQLModel, table=True):
    """Free text the research specialist can search: competitor notes, briefs, research."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = "research"
    """competitor, brief, research or other."""
    title: str
    body: str
    created_at: datetime
    source: str = ""


class SegmentMember(SQLModel, table=True):
    """A contact in the audience an executed segment action materialised."""

    action_id: str = Field(foreign_key="action.id", primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", primary_key=True)
