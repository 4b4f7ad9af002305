"""CSV import of contacts, events and spend: the whole file is checked before anything is written.

Row numbers are the ones a spreadsheet shows: the header is row 1 and the first data
row is row 2 (a blank line still counts as a row; a line break inside a quoted cell
does not start one).

The import runs inside the caller's write transaction. The csv module streams the
file; small batches of rows are checked by hand, column by column (precompiled
regexes, set and dict lookups, ``datetime.fromisoformat``), and staged in a temporary
table (db/staging.py). Only when every row is valid does the import touch the
workspace, set-based (``UPDATE ... FROM``, ``INSERT ... SELECT``): a refused file
raises `ImportRefused` before any workspace row was written, so the caller's rollback
leaves nothing behind.

Timestamps are ISO 8601: a bare date means midnight UTC, a timestamp with an offset is
converted to UTC and one without an offset is taken as UTC.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import get_args

from sqlmodel import Session

from db.models import Meta
from db.staging import ImportStage
from db.workspace import touch_workspace
from workspace.importer.cells import db_timestamp
from workspace.importer.formats import (
    CHANNELS,
    COLUMNS,
    CONSENT_CHANNELS,
    EVENTS,
    FIELDS,
    REQUIRED_COLUMNS,
    ImportKind,
)
from workspace.importer.report import ERROR_CAP, ERRORS_SHOWN, ImportRefused, ImportReport, RowError
from workspace.importer.staging import Progress, Staging
from workspace.importer.writer import Writer

__all__ = [
    "CHANNELS",
    "COLUMNS",
    "CONSENT_CHANNELS",
    "ERRORS_SHOWN",
    "ERROR_CAP",
    "EVENTS",
    "FIELDS",
    "REQUIRED_COLUMNS",
    "ImportKind",
    "ImportRefused",
    "ImportReport",
    "Progress",
    "RowError",
    "import_csv",
]


def import_csv(
    session: Session,
    kind: ImportKind,
    path: Path,
    *,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    """Load a contacts, events or spend CSV into the workspace: all of it, or nothing.

    Runs in the caller's transaction (open it with `write_session`); on `ImportRefused`
    nothing in the workspace was written, so the caller's rollback leaves it unchanged.
    A workspace of generated demo data is cleared first (demo and real data never mix)
    and the workspace is marked as imported.

    contacts: `email` is required and every other column optional; other columns are
    kept as attributes. A new contact gets the default for a missing column or a blank
    cell: "" for text, no phone, timezone UTC, created_at `now`, consents and
    unsubscribed false, lifetime_value 0, orders 0, no last purchase. Booleans are
    true/false, yes/no, 1/0, y/n or t/f (any case; blank is false); timezone is an IANA
    name; email is trimmed, lower-cased and must look like an address. A contact whose
    email is stored already is updated: a column in the file overwrites the stored
    value (a blank cell sets the default), a column not in the file is left alone, a
    blank created_at keeps the stored one, and attributes are merged into the stored
    ones (blank cells are not stored). A later row with the same email updates an
    earlier one in the same way. Each consent (email, sms, push) that differs from the
    stored value appends a ConsentChange at `now` with source "import:<file name>"; a
    new contact counts as having had no consent, so its grants are recorded.

    events: email, channel, event and occurred_at are required; campaign and variant
    default to "" and revenue to 0 (never negative). The email must belong to a contact
    already in the workspace. A row identical to a stored event or an earlier row is
    skipped, so importing a file twice changes nothing. Each new event updates its
    contact: unsubscribe sets unsubscribed, bounce on email sets bounced, and a purchase
    adds one order and its revenue to lifetime_value and moves last_purchase_at to the
    purchase if that is later.

    spend: date, channel and spend (zero or more) are required; campaign defaults to "".
    A row replaces the stored spend for the same date, channel and campaign, and a later
    row in the file replaces an earlier one.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if kind not in get_args(ImportKind):
        raise ImportRefused(
            path.name, f"{kind!r} is not something Baton imports (contacts, events or spend)"
        )
    stage = ImportStage(session.connection(), kind)
    try:
        staging = Staging(stage=stage, kind=kind, path=path, progress=progress)
        header = staging.read()
        demo = stage.workspace_is_demo()
        staging.check(demo=demo)
        writer = Writer(
            stage=stage,
            kind=kind,
            file=path.name,
            rows=staging.rows,
            repeated=staging.repeated,
            now_text=db_timestamp(now),
            source=f"import:{path.name}",
        )
        report = writer.write(header, demo=demo)
    finally:
        stage.drop()
    session.merge(Meta(key="workspace_source", value="import"))
    touch_workspace(session)
    session.flush()
    # The rows changed underneath the ORM: objects the caller holds must reload.
    session.expire_all()
    return report
