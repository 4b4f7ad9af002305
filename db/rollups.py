"""Derived tables: rollups rebuilt from events so reports and send timing stay fast at scale.

Nothing here is a source of truth: `workspace.rollups.refresh_rollups` rebuilds every
table from `event` and `contact`, and records the workspace version it read.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Table
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel


class KpiDay(SQLModel, table=True):
    """Sends, opens, clicks, purchases and revenue per UTC day, channel, campaign and variant."""

    __tablename__ = "rollup_kpi_day"
    __table_args__ = {"sqlite_with_rowid": False}

    day: date = Field(primary_key=True)
    """The UTC day of the events (the first ten characters of `occurred_at`)."""
    channel: str = Field(primary_key=True)
    campaign: str = Field(primary_key=True)
    variant: str = Field(primary_key=True)
    sends: int
    opens: int
    clicks: int
    purchases: int
    revenue: float
    """Revenue of the purchases."""


class SendSlot(SQLModel, table=True):
    """One send, placed in the contact's local weekday and hour, and whether it was opened."""

    __tablename__ = "rollup_send_slot"
    __table_args__ = {"sqlite_with_rowid": False}

    contact_id: int = Field(primary_key=True)
    occurred_at: datetime = Field(primary_key=True)
    """The send's `occurred_at`, copied as stored."""
    event_id: int = Field(primary_key=True)
    """Tells apart two sends at the same moment."""
    channel: str
    code: int | None
    """(weekday * 24 + hour) * 2 + opened, in local time (0 = Monday 00:00, not opened);
    None when the stored time cannot be read."""


class SendProfile(SQLModel, table=True):
    """All of one contact's sends on one channel, as one character per send (for fast sums)."""

    __tablename__ = "rollup_send_profile"
    __table_args__ = {"sqlite_with_rowid": False}

    contact_id: int = Field(primary_key=True)
    channel: str = Field(primary_key=True)
    first_at: datetime
    last_at: datetime
    sends: int
    codes: str
    """chr(SLOT_CODE_BASE + code) for every send, in no particular order."""


class RecentSend(SQLModel, table=True):
    """Every send from a little before the newest one on, by contact: frequency caps are cheap.

    Holds all sends at or after `recent_from` (a UTC day stored in meta), so a cap window
    that starts on or after it can be answered here instead of from every event.
    """

    __tablename__ = "rollup_recent_send"
    __table_args__ = {"sqlite_with_rowid": False}

    contact_id: int = Field(primary_key=True)
    occurred_at: datetime = Field(primary_key=True)
    event_id: int = Field(primary_key=True)


SLOT_CODE_BASE = 256
"""Codes are stored as characters from U+0100 up, all of one width."""

ROLLUP_TABLES: tuple[type[SQLModel], ...] = (KpiDay, SendSlot, SendProfile, RecentSend)


def rollup_tables() -> list[Table]:
    """The rollup tables, as SQLAlchemy tables."""
    return [SQLModel.metadata.tables[str(model.__tablename__)] for model in ROLLUP_TABLES]


SEGMENT_INDEXES = (
    # Winback-style rules read the purchase date and the suppression flags: all in the index.
    "CREATE INDEX IF NOT EXISTS ix_contact_purchase_reach ON contact (last_purchase_at, "
    "unsubscribed, bounced, email_consent, sms_consent, push_consent)",
)
"""Indexes on `contact` for the segment rules."""


def create_rollup_tables(engine: Engine) -> None:
    """Migration 0003: the rollup tables (empty until the first refresh) and segment indexes."""
    SQLModel.metadata.create_all(engine, tables=rollup_tables())
    with engine.begin() as conn:
        for statement in SEGMENT_INDEXES:
            conn.exec_driver_sql(statement)
