"""CSV import of contacts, events and spend: the whole file is checked before anything is written.

Row numbers are the ones a spreadsheet shows: the header is row 1 and the first data
row is row 2 (a blank line still counts as a row; a line break inside a quoted cell
does not start one).

The import runs inside the caller's write transaction. The csv module streams the
file; small batches of rows are checked by hand, column by column (precompiled
regexes, set and dict lookups, ``datetime.fromisoformat``), and staged in a TEMP
table. Only when every row is valid does the import touch the workspace, set-based
(``UPDATE ... FROM``, ``INSERT ... SELECT``): a refused file raises `ImportRefused`
before any workspace row was written, so the caller's rollback leaves nothing behind.

Timestamps are ISO 8601: a bare date means midnight UTC, a timestamp with an offset is
converted to UTC and one without an offset is taken as UTC.
"""

from __future__ import annotations

import codecs
import csv
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeAlias, get_args
from zoneinfo import available_timezones

from pydantic import BaseModel
from sqlmodel import Session

from db.models import Meta
from db.workspace import touch_workspace

ImportKind: TypeAlias = Literal["contacts", "events", "spend"]
Progress: TypeAlias = Callable[[int, int], None]
"""progress(rows_done, total_rows) every `PROGRESS_EVERY` rows read, and once at the end.

Until the end, total_rows is the file's line count less the header: an upper bound
(blank lines and line breaks inside cells count too); the last call gives the exact
count twice.
"""

CHANNELS = ("email", "sms", "push", "social", "search", "display", "direct_mail", "web")
EVENTS = ("send", "open", "click", "purchase", "unsubscribe", "bounce")
CONSENT_CHANNELS = ("email", "sms", "push")

ERROR_CAP = 1000
"""Row errors kept (every row is still checked and counted)."""
ERRORS_SHOWN = 20
"""Row errors listed in a refusal's message."""
PROGRESS_EVERY = 50_000
BATCH_ROWS = 250
"""Rows parsed and staged together: small batches keep the work in the CPU cache."""
CACHE_KIB = 64 * 1024
"""SQLite page cache while the import writes: holds a million-row email index."""
MAX_EMAIL = 254

_STAGE = "temp.baton_import_stage"
_DUPLICATES = "temp.baton_import_duplicates"
_MERGED = "temp.baton_import_merged"
_EMAIL = re.compile(r"[^@\s,;<>()\[\]\"]+@[^@\s,;<>()\[\]\".]+(\.[^@\s,;<>()\[\]\".]+)+")
_PLAIN_TIMESTAMP = re.compile(
    r"(\d{4}-\d\d-\d\d)(?:[T ]((?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d)(?:Z|\+00:00)?)?"
)
"""A date, or a whole-second time in UTC or without an offset: the usual shapes, read fast."""
_BOOLS = {
    word: value
    for words, value in (("true yes y 1 t", 1), ("false no n 0 f", 0))
    for lower in words.split()
    for word in (lower, lower.upper(), lower.capitalize())
}
_BOOLS[""] = 0


class RowError(BaseModel):
    """One problem in one row; `row` counts as a spreadsheet does (the header is row 1)."""

    row: int
    column: str | None = None
    """The column's name, or None for a problem with the whole row."""
    message: str

    def __str__(self) -> str:
        where = f"Row {self.row}, column {self.column}" if self.column else f"Row {self.row}"
        return f"{where}: {self.message}."


class ImportRefused(ValueError):
    """The file was not imported and nothing was changed; the first line says why."""

    def __init__(
        self,
        file: str,
        reason: str,
        errors: list[RowError] | None = None,
        *,
        error_count: int | None = None,
        list_errors: bool = False,
    ) -> None:
        self.file = file
        self.reason = reason
        self.errors: list[RowError] = errors or []
        """The problems found, in row order, at most `ERROR_CAP` of them."""
        self.error_count = len(self.errors) if error_count is None else error_count
        """Every problem found, including those past the cap."""
        lines = [f"{file} was not imported: {reason} (nothing was changed)."]
        if list_errors:
            lines.extend(str(error) for error in self.errors[:ERRORS_SHOWN])
            if self.error_count > ERRORS_SHOWN:
                lines.append(f"...and {self.error_count - ERRORS_SHOWN:,} more errors.")
        super().__init__("\n".join(lines))


class ImportReport(BaseModel):
    """What an import did; rows == inserted + updated + duplicates_merged."""

    kind: ImportKind
    file: str
    rows: int
    """Data rows read (blank lines are not rows)."""
    inserted: int
    """New contacts, events or spend rows."""
    updated: int
    """Stored contacts updated (same email) or spend rows replaced (same day and campaign)."""
    duplicates_merged: int
    """Rows merged into an earlier row of the file, or events that were stored already."""
    consent_changes: int
    """ConsentChange rows appended."""
    replaced_demo: bool
    """The workspace held generated demo data, which this import removed."""
    attributes: list[str] = []
    """Extra contact columns, kept in each contact's attributes."""
    ignored_columns: list[str] = []
    """Columns of an events or spend file that Baton does not use."""


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
    conn: Any = session.connection().connection.driver_connection
    job = _Job(
        conn=conn,
        kind=kind,
        path=path,
        now_text=_db_timestamp(now),
        source=f"import:{path.name}",
        progress=progress,
    )
    try:
        report = job.run()
    finally:
        for table in (_STAGE, _DUPLICATES, _MERGED):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    session.merge(Meta(key="workspace_source", value="import"))
    touch_workspace(session)
    session.flush()
    # The rows changed underneath the ORM: objects the caller holds must reload.
    session.expire_all()
    return report


# --- Cells ---------------------------------------------------------------------------
#
# Each column has two parsers. `parse` takes one cell and raises _Invalid saying what
# is wrong. `parse_all` takes a whole column of a batch and is fast; it raises (any
# exception) when some cell is not plainly valid, and the batch is then parsed again
# cell by cell. Where `parse_all` succeeds it returns exactly what `parse` would.


class _Invalid(Exception):
    """A cell's value is not acceptable; the message says why."""


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _text(cell: str) -> str:
    return cell.strip()


def _texts(cells: Sequence[str]) -> list[str]:
    return list(map(str.strip, cells))


def _optional_text(cell: str) -> str | None:
    return cell.strip() or None


def _optional_texts(cells: Sequence[str]) -> list[str | None]:
    return [cell.strip() or None for cell in cells]


def _email(cell: str) -> str:
    email = cell.strip().lower()
    if not email:
        raise _Invalid("is blank; every row needs an email")
    if len(email) > MAX_EMAIL or _EMAIL.fullmatch(email) is None:
        raise _Invalid(f"{_shown(cell)} is not an email address")
    return email


def _emails(cells: Sequence[str]) -> list[str]:
    emails = list(map(str.lower, map(str.strip, cells)))
    if not all(map(_EMAIL.fullmatch, emails)) or max(map(len, emails)) > MAX_EMAIL:
        raise _Invalid("some email is not valid")
    return emails


def _bool(cell: str) -> int:
    value = _BOOLS.get(cell)
    if value is None:
        value = _BOOLS.get(cell.strip().lower())
        if value is None:
            raise _Invalid(f"{_shown(cell)} is not true/false, yes/no, 1/0 or y/n")
    return value


def _bools(cells: Sequence[str]) -> list[int]:
    return list(map(_BOOLS.__getitem__, cells))


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _timezone(cell: str) -> str:
    zone = cell.strip() or "UTC"
    if zone not in _zones():
        raise _Invalid(f"{_shown(cell)} is not an IANA time zone (like Europe/Paris)")
    return zone


def _timezones(cells: Sequence[str]) -> list[str]:
    zones = [cell.strip() or "UTC" for cell in cells]
    if not _zones().issuperset(zones):
        raise _Invalid("some time zone is not valid")
    return zones


def _db_timestamp(moment: datetime) -> str:
    """The text SQLAlchemy stores for a datetime in SQLite: UTC, microseconds, no offset."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(" ", "microseconds")


def _timestamp(cell: str) -> str | None:
    value = cell.strip()
    if not value:
        return None
    try:
        return _db_timestamp(datetime.fromisoformat(value))
    except (ValueError, OverflowError):
        raise _Invalid(f"{_shown(cell)} is not an ISO 8601 date or timestamp") from None


@lru_cache(maxsize=1 << 16)
def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _timestamps(cells: Sequence[str]) -> list[str | None]:
    plain = _PLAIN_TIMESTAMP.fullmatch
    parse = datetime.fromisoformat
    stamps: list[str | None] = []
    for cell in cells:
        if not cell:
            stamps.append(None)
            continue
        match = plain(cell)
        if match is not None and _is_date(match[1]):
            stamps.append(f"{match[1]} {match[2] or '00:00:00'}.000000")
            continue
        moment = parse(cell)
        if moment.tzinfo is not None:
            # An aware UTC time prints with "+00:00", which the first 26 characters drop.
            moment = moment.astimezone(UTC)
        stamps.append(moment.isoformat(" ", "microseconds")[:26])
    return stamps


def _required_timestamp(cell: str) -> str:
    value = _timestamp(cell)
    if value is None:
        raise _Invalid("is blank; a date or timestamp is required")
    return value


def _required_timestamps(cells: Sequence[str]) -> list[str | None]:
    stamps = _timestamps(cells)
    if None in stamps:
        raise _Invalid("some timestamp is blank")
    return stamps


def _date(cell: str) -> str:
    value = cell.strip()
    if not value:
        raise _Invalid("is blank; a date is required")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise _Invalid(f"{_shown(cell)} is not an ISO 8601 date (YYYY-MM-DD)") from None


def _dates(cells: Sequence[str]) -> list[str]:
    parse = date.fromisoformat
    return [parse(cell).isoformat() for cell in cells]


def _amount(cell: str) -> float:
    value = cell.strip()
    if not value:
        return 0.0
    try:
        amount = float(value)
    except ValueError:
        raise _Invalid(f"{_shown(cell)} is not a number") from None
    if not math.isfinite(amount) or amount < 0:
        raise _Invalid(f"{_shown(cell)} must be a number, zero or more")
    return amount


def _checked_amounts(amounts: list[float]) -> list[float]:
    if amounts and (min(amounts) < 0 or not all(map(math.isfinite, amounts))):
        raise _Invalid("some amount is negative or not finite")
    return amounts


def _amounts(cells: Sequence[str]) -> list[float]:
    return _checked_amounts([float(cell) if cell else 0.0 for cell in cells])


def _required_amount(cell: str) -> float:
    if not cell.strip():
        raise _Invalid("is blank; an amount is required")
    return _amount(cell)


def _required_amounts(cells: Sequence[str]) -> list[float]:
    return _checked_amounts(list(map(float, cells)))


def _count(cell: str) -> int:
    value = cell.strip()
    if not value:
        return 0
    try:
        count = int(value)
    except ValueError:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not number.is_integer():
            raise _Invalid(f"{_shown(cell)} is not a whole number") from None
        count = int(number)
    if count < 0:
        raise _Invalid(f"{_shown(cell)} must be zero or more")
    return count


def _counts(cells: Sequence[str]) -> list[int]:
    counts = [int(cell) if cell else 0 for cell in cells]
    if counts and min(counts) < 0:
        raise _Invalid("some count is negative")
    return counts


def _choice(
    options: tuple[str, ...], noun: str
) -> tuple[Callable[[str], str], Callable[[Sequence[str]], list[str]]]:
    allowed = frozenset(options)
    listed = ", ".join(options)

    def parse(cell: str) -> str:
        value = cell.strip().lower()
        if value in allowed:
            return value
        if not value:
            raise _Invalid(f"is blank; a {noun} is required ({listed})")
        raise _Invalid(f"{_shown(cell)} is not a {noun} ({listed})")

    def parse_all(cells: Sequence[str]) -> list[str]:
        if not allowed.issuperset(cells):
            raise _Invalid(f"some {noun} is not valid")
        return list(cells)

    return parse, parse_all


@dataclass(frozen=True)
class _Field:
    """One staged value: its column, how a cell and a batch's column parse, its default."""

    column: str
    parse: Callable[[str], Any]
    parse_all: Callable[[Sequence[str]], list[Any]]
    default: Any = None
    """The value when the column is not in the file."""


_CHANNEL = _choice(CHANNELS, "channel")
_EVENT = _choice(EVENTS, "event")

FIELDS: dict[str, tuple[_Field, ...]] = {
    "contacts": (
        _Field("email", _email, _emails),
        _Field("first_name", _text, _texts, ""),
        _Field("last_name", _text, _texts, ""),
        _Field("phone", _optional_text, _optional_texts),
        _Field("country", _text, _texts, ""),
        _Field("region", _text, _texts, ""),
        _Field("timezone", _timezone, _timezones, "UTC"),
        _Field("created_at", _timestamp, _timestamps),
        _Field("email_consent", _bool, _bools, 0),
        _Field("sms_consent", _bool, _bools, 0),
        _Field("push_consent", _bool, _bools, 0),
        _Field("unsubscribed", _bool, _bools, 0),
        _Field("lifetime_value", _amount, _amounts, 0.0),
        _Field("orders", _count, _counts, 0),
        _Field("last_purchase_at", _timestamp, _timestamps),
    ),
    "events": (
        _Field("email", _email, _emails),
        _Field("channel", *_CHANNEL),
        _Field("event", *_EVENT),
        _Field("campaign", _text, _texts, ""),
        _Field("variant", _text, _texts, ""),
        _Field("occurred_at", _required_timestamp, _required_timestamps),
        _Field("revenue", _amount, _amounts, 0.0),
    ),
    "spend": (
        _Field("date", _date, _dates),
        _Field("channel", *_CHANNEL),
        _Field("campaign", _text, _texts, ""),
        _Field("spend", _required_amount, _required_amounts),
    ),
}
COLUMNS = {kind: tuple(f.column for f in fields) for kind, fields in FIELDS.items()}
"""Each format's columns, in the order DESIGN.md lists them."""
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("email",),
    "events": ("email", "channel", "event", "occurred_at"),
    "spend": ("date", "channel", "spend"),
}

_STAGED = {kind: (*columns, "line") for kind, columns in COLUMNS.items()}
_STAGED["contacts"] = (*COLUMNS["contacts"], "attributes", "line")
_STAGE_EXTRA = {
    "contacts": ", contact_id INTEGER, old_email_consent, old_sms_consent, old_push_consent",
    "events": ", contact_id INTEGER",
    "spend": ", merged INTEGER DEFAULT 0, existed INTEGER DEFAULT 0, "
    "UNIQUE (date, channel, campaign)",
}


def _attributes(keys: Sequence[str], values: Sequence[str]) -> str:
    """A JSON object of the non-blank values; `keys` are JSON-encoded already."""
    pairs = [f"{key}:{json.dumps(value)}" for key, value in zip(keys, values, strict=True) if value]
    return "{" + ",".join(pairs) + "}"


# --- The import ------------------------------------------------------------------------


@dataclass
class _Header:
    """Where each known column sits in the file, and the other columns."""

    positions: dict[str, int]
    extras: list[tuple[int, str]]
    """(position, name) of the columns Baton does not know."""
    unnamed: list[int]
    """Positions of columns whose header cell is blank."""
    width: int


@dataclass
class _Job:
    """One import: read and stage the file, check it, then write the workspace."""

    conn: Any
    """The sqlite3 connection under the caller's session, inside its transaction."""
    kind: ImportKind
    path: Path
    now_text: str
    source: str
    progress: Progress | None
    rows: int = 0
    error_rows: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    """Hashes of the contact emails staged so far."""
    repeated: set[str] = field(default_factory=set)
    """Emails that may occur more than once (a hash seen before)."""

    @property
    def name(self) -> str:
        return self.path.name

    def refuse(self, reason: str, *, row: int | None = None, column: str | None = None) -> NoReturn:
        errors = [RowError(row=row, column=column, message=reason)] if row is not None else []
        raise ImportRefused(self.name, reason, errors)

    def add_error(self, row: int, column: str | None, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < ERROR_CAP:
            self.errors.append(RowError(row=row, column=column, message=message))

    def scalar(self, sql: str, *params: Any) -> int:
        return int(self.conn.execute(sql, params).fetchone()[0] or 0)

    def run(self) -> ImportReport:
        total = self.check_file()
        for table in (_STAGE, _DUPLICATES, _MERGED):
            self.conn.execute(f"DROP TABLE IF EXISTS {table}")
        staged = ", ".join(_STAGED[self.kind])
        self.conn.execute(f"CREATE TABLE {_STAGE} ({staged}{_STAGE_EXTRA[self.kind]})")
        header = self.stage(total)
        demo = self.is_demo()
        if self.kind == "events":
            self.match_contacts(demo=demo)
        if self.error_count:
            self.errors.sort(key=lambda error: error.row)
            rows = "1 row has" if self.error_rows == 1 else f"{self.error_rows:,} rows have"
            raise ImportRefused(
                self.name,
                f"{rows} errors",
                self.errors,
                error_count=self.error_count,
                list_errors=True,
            )
        if demo:
            self.clear_demo()
        cache_size = self.scalar("PRAGMA main.cache_size")
        self.conn.execute(f"PRAGMA main.cache_size = -{CACHE_KIB}")
        try:
            if self.kind == "contacts":
                report = self.write_contacts(header)
            elif self.kind == "events":
                report = self.write_events()
            else:
                report = self.write_spend()
        finally:
            self.conn.execute(f"PRAGMA main.cache_size = {cache_size}")
        report.replaced_demo = demo
        extras = [name for _, name in header.extras]
        if self.kind == "contacts":
            report.attributes = extras
        else:
            report.ignored_columns = extras
        return report

    # --- reading --------------------------------------------------------------------

    def check_file(self) -> int:
        """Refuse a file that cannot be CSV text; return its line count (at least its rows)."""
        try:
            with self.path.open("rb") as handle:
                head = handle.read(1 << 16)
                lines, last = head.count(b"\n"), head[-1:]
                while chunk := handle.read(1 << 20):
                    lines, last = lines + chunk.count(b"\n"), chunk[-1:]
        except OSError as error:
            self.refuse(f"it could not be read ({error.strerror or error})")
        if not head.removeprefix(codecs.BOM_UTF8).strip():
            self.refuse("the file is empty (a header row is required)")
        if head.startswith(b"PK\x03\x04"):
            self.refuse("it is a zip or Excel file, not CSV text (export it as CSV UTF-8)")
        if b"\x00" in head:
            self.refuse("it is not CSV text (it contains binary data)")
        return lines + (last != b"\n")

    def records(self) -> Iterator[list[str]]:
        """The file's records; text that is not UTF-8, or not CSV, is refused."""
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            # Strict: a quote left open must not swallow the rest of the file into one cell.
            reader = csv.reader(handle, strict=True)
            try:
                yield from reader
            except UnicodeDecodeError:
                line = self.first_bad_line()
                self.refuse(
                    f"it is not UTF-8 text (line {line}); save it as CSV UTF-8 and try again",
                    row=line,
                )
            except csv.Error as error:
                line = reader.line_num
                self.refuse(f"line {line} is not valid CSV ({error})", row=line)

    def first_bad_line(self) -> int:
        decoder = codecs.getincrementaldecoder("utf-8")()
        line = 1
        with self.path.open("rb") as handle:
            while chunk := handle.read(1 << 16):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as error:
                    return line + chunk.count(b"\n", 0, error.start)
                line += chunk.count(b"\n")
        return line

    def read_header(self, cells: list[str]) -> _Header:
        known = set(COLUMNS[self.kind])
        positions: dict[str, int] = {}
        extras: list[tuple[int, str]] = []
        unnamed: list[int] = []
        seen: set[str] = set()
        for index, cell in enumerate(cells):
            name = cell.strip()
            key = name.lower()
            if not name:
                unnamed.append(index)
                continue
            if key in seen:
                self.refuse(f"the header (row 1) has the column {name!r} twice", row=1, column=name)
            seen.add(key)
            if key in known:
                positions[key] = index
            else:
                extras.append((index, name))
        missing = [name for name in REQUIRED_COLUMNS[self.kind] if name not in positions]
        if missing:
            plural = "columns" if len(missing) > 1 else "column"
            reason = f"the header (row 1) has no {' and '.join(missing)} {plural}"
            if len(cells) == 1 and (";" in cells[0] or "\t" in cells[0]):
                separator = "semicolons" if ";" in cells[0] else "tabs"
                reason += f"; the file seems to be separated by {separator}, not commas"
            self.refuse(reason, row=1, column=missing[0])
        return _Header(positions=positions, extras=extras, unnamed=unnamed, width=len(cells))

    def stage(self, total: int) -> _Header:
        """Check every row and stage the valid ones in the TEMP table, batch by batch."""
        records = self.records()
        first = next(records, None)
        if first is None:
            self.refuse("the file is empty (a header row is required)")
        if not "".join(first).strip():
            self.refuse("the header (row 1) is blank (a header row is required)", row=1)
        header = self.read_header(first)
        stager = _Stager(self, header)
        batch: list[list[str]] = []
        row = 1
        next_progress = PROGRESS_EVERY
        for cells in records:
            batch.append(cells)
            if len(batch) == BATCH_ROWS:
                self.rows += stager.stage(batch, row + 1)
                row += len(batch)
                batch = []
                if self.progress is not None and self.rows >= next_progress:
                    self.progress(self.rows, max(total - 1, self.rows))
                    next_progress += PROGRESS_EVERY
        self.rows += stager.stage(batch, row + 1)
        if self.rows == 0:
            self.refuse("the file has a header row but no data rows")
        if self.progress is not None:
            self.progress(self.rows, self.rows)
        return header

    def note_emails(self, emails: list[str]) -> None:
        """Remember staged emails; one that may have been staged before is `repeated`."""
        hashes = list(map(hash, emails))
        fresh = set(hashes)
        if len(fresh) != len(hashes) or not self.seen.isdisjoint(fresh):
            counts = Counter(hashes)
            self.repeated.update(
                email
                for email, key in zip(emails, hashes, strict=True)
                if key in self.seen or counts[key] > 1
            )
        self.seen |= fresh

    # --- checks that need the database ----------------------------------------------

    def is_demo(self) -> bool:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'workspace_source'").fetchone()
        return row is not None and row[0] == "demo"

    def match_contacts(self, *, demo: bool) -> None:
        """Point each staged event at its contact; an unknown email is a row error."""
        if not demo:
            self.conn.execute(
                f"UPDATE {_STAGE} SET contact_id = (SELECT id FROM main.contact "
                "WHERE contact.email = baton_import_stage.email)"
            )
        hint = " (an import replaces the demo contacts: import your contacts first)" if demo else ""
        unknown = self.conn.execute(
            f"SELECT line, email FROM {_STAGE} WHERE contact_id IS NULL ORDER BY rowid LIMIT ?",
            (ERROR_CAP,),
        ).fetchall()
        count = self.scalar(f"SELECT count(*) FROM {_STAGE} WHERE contact_id IS NULL")
        for line, email in unknown:
            self.add_error(line, "email", f"no contact with this email ({email}){hint}")
        self.error_count += count - len(unknown)
        self.error_rows += count

    # --- writing ----------------------------------------------------------------------

    def clear_demo(self) -> None:
        """Remove the generated demo workspace, children before parents (foreign keys)."""
        for statement in (
            "DELETE FROM main.delivery WHERE contact_id IN (SELECT id FROM main.contact)",
            "DELETE FROM main.segmentmember",
            "DELETE FROM main.consentchange",
            "DELETE FROM main.event",
            "DELETE FROM main.contact",
            "DELETE FROM main.spend",
            "DELETE FROM main.note WHERE source = 'demo'",
            "DELETE FROM main.meta WHERE key = 'demo_seed'",
        ):
            self.conn.execute(statement)

    def merge_repeated(self) -> None:
        """Fold the staged rows of each repeated email into one, later rows updating earlier."""
        conn = self.conn
        staged = ", ".join(_STAGED["contacts"])
        conn.execute(f"CREATE TABLE {_DUPLICATES} (email TEXT PRIMARY KEY)")
        conn.executemany(
            f"INSERT INTO {_DUPLICATES} VALUES (?)", [(email,) for email in self.repeated]
        )
        conn.execute(f"CREATE TABLE {_MERGED} ({staged}, PRIMARY KEY (email))")
        later = [
            f"{column} = excluded.{column}"
            for column in COLUMNS["contacts"]
            if column not in ("email", "created_at")
        ]
        conn.execute(
            f"INSERT INTO {_MERGED} ({staged}) SELECT {staged} FROM {_STAGE} "
            f"WHERE email IN (SELECT email FROM {_DUPLICATES}) ORDER BY line "
            f"ON CONFLICT (email) DO UPDATE SET {', '.join(later)}, "
            "created_at = coalesce(excluded.created_at, created_at), "
            "attributes = json_patch(attributes, excluded.attributes)"
        )
        conn.execute(f"DELETE FROM {_STAGE} WHERE email IN (SELECT email FROM {_DUPLICATES})")
        conn.execute(f"INSERT INTO {_STAGE} ({staged}) SELECT {staged} FROM {_MERGED}")

    def write_contacts(self, header: _Header) -> ImportReport:
        conn = self.conn
        if self.repeated:
            self.merge_repeated()
        staged = self.scalar(f"SELECT count(*) FROM {_STAGE}")
        updated = 0
        if self.scalar("SELECT EXISTS (SELECT 1 FROM main.contact)"):
            conn.execute(
                f"UPDATE {_STAGE} SET contact_id = c.id, old_email_consent = c.email_consent, "
                "old_sms_consent = c.sms_consent, old_push_consent = c.push_consent "
                "FROM main.contact AS c WHERE c.email = baton_import_stage.email"
            )
            updated = self.scalar(f"SELECT count(*) FROM {_STAGE} WHERE contact_id IS NOT NULL")
        consent_changes = 0
        if updated:
            self.update_contacts(header)
            consent_changes += self.record_consent_changes(header)
        last_id = self.scalar("SELECT max(id) FROM main.contact")
        columns = COLUMNS["contacts"]
        values = ["coalesce(created_at, ?)" if c == "created_at" else c for c in columns]
        inserted = conn.execute(
            f"INSERT INTO main.contact ({', '.join(columns)}, bounced, attributes) "
            f"SELECT {', '.join(values)}, 0, attributes FROM {_STAGE} "
            f"WHERE contact_id IS NULL ORDER BY {'line' if self.repeated else 'rowid'}",
            (self.now_text,),
        ).rowcount
        # A rowid table numbers new rows after its largest id, so the new contacts are
        # exactly those above `last_id`: their consents need no second lookup by email.
        if self.scalar("SELECT count(*) FROM main.contact WHERE id > ?", last_id) != inserted:
            raise RuntimeError("new contacts did not get ids after the existing ones")
        consent_changes += conn.execute(
            "INSERT INTO main.consentchange (contact_id, channel, granted, at, source) "
            "SELECT c.id, ch.column1, 1, ?, ? FROM main.contact AS c "
            "CROSS JOIN (VALUES ('email'), ('sms'), ('push')) AS ch WHERE c.id > ? AND "
            "CASE ch.column1 WHEN 'email' THEN c.email_consent WHEN 'sms' THEN c.sms_consent "
            "ELSE c.push_consent END",
            (self.now_text, self.source, last_id),
        ).rowcount
        return self.report(
            inserted=inserted,
            updated=updated,
            duplicates_merged=self.rows - staged,
            consent_changes=consent_changes,
        )

    def update_contacts(self, header: _Header) -> None:
        """Overwrite stored contacts with the columns the file has."""
        sets = [
            f"{column} = s.{column}"
            for column in COLUMNS["contacts"][1:]
            if column in header.positions and column != "created_at"
        ]
        if "created_at" in header.positions:
            sets.append("created_at = coalesce(s.created_at, contact.created_at)")
        if header.extras:
            sets.append("attributes = json_patch(contact.attributes, s.attributes)")
        if sets:
            self.conn.execute(
                f"UPDATE main.contact SET {', '.join(sets)} FROM {_STAGE} AS s "
                "WHERE s.contact_id = contact.id"
            )

    def record_consent_changes(self, header: _Header) -> int:
        """Append a ConsentChange for each stored contact's consent the file changed."""
        changes = 0
        for channel in CONSENT_CHANNELS:
            column = f"{channel}_consent"
            if column not in header.positions:
                continue
            changes += self.conn.execute(
                "INSERT INTO main.consentchange (contact_id, channel, granted, at, source) "
                f"SELECT contact_id, ?, {column}, ?, ? FROM {_STAGE} "
                f"WHERE contact_id IS NOT NULL AND {column} != old_{column} ORDER BY contact_id",
                (channel, self.now_text, self.source),
            ).rowcount
        return changes

    def write_events(self) -> ImportReport:
        conn = self.conn
        conn.execute(
            f"DELETE FROM {_STAGE} WHERE rowid NOT IN (SELECT min(rowid) FROM {_STAGE} "
            "GROUP BY contact_id, channel, event, campaign, variant, occurred_at, revenue)"
        )
        conn.execute(
            f"DELETE FROM {_STAGE} WHERE EXISTS (SELECT 1 FROM main.event AS e "
            "WHERE e.contact_id = baton_import_stage.contact_id "
            "AND e.event = baton_import_stage.event "
            "AND e.occurred_at = baton_import_stage.occurred_at "
            "AND e.channel = baton_import_stage.channel "
            "AND e.campaign = baton_import_stage.campaign "
            "AND e.variant = baton_import_stage.variant "
            "AND e.revenue = baton_import_stage.revenue)"
        )
        inserted = conn.execute(
            "INSERT INTO main.event (contact_id, channel, event, campaign, variant, "
            "occurred_at, revenue) SELECT contact_id, channel, event, campaign, variant, "
            f"occurred_at, revenue FROM {_STAGE} ORDER BY rowid"
        ).rowcount
        conn.execute(
            "UPDATE main.contact SET unsubscribed = 1 WHERE id IN "
            f"(SELECT contact_id FROM {_STAGE} WHERE event = 'unsubscribe')"
        )
        conn.execute(
            "UPDATE main.contact SET bounced = 1 WHERE id IN "
            f"(SELECT contact_id FROM {_STAGE} WHERE event = 'bounce' AND channel = 'email')"
        )
        conn.execute(
            "UPDATE main.contact SET orders = contact.orders + p.purchases, "
            "lifetime_value = round(contact.lifetime_value + p.total, 2), "
            "last_purchase_at = CASE WHEN contact.last_purchase_at IS NULL "
            "OR contact.last_purchase_at < p.last THEN p.last ELSE contact.last_purchase_at END "
            "FROM (SELECT contact_id, count(*) AS purchases, sum(revenue) AS total, "
            f"max(occurred_at) AS last FROM {_STAGE} WHERE event = 'purchase' "
            "GROUP BY contact_id) AS p WHERE contact.id = p.contact_id"
        )
        return self.report(
            inserted=inserted, updated=0, duplicates_merged=self.rows - inserted, consent_changes=0
        )

    def write_spend(self) -> ImportReport:
        conn = self.conn
        staged = self.scalar(f"SELECT count(*) FROM {_STAGE}")
        conn.execute(
            f"UPDATE {_STAGE} SET existed = 1 WHERE EXISTS (SELECT 1 FROM main.spend AS s "
            "WHERE s.date = baton_import_stage.date AND s.channel = baton_import_stage.channel "
            "AND s.campaign = baton_import_stage.campaign)"
        )
        updated = self.scalar(f"SELECT count(*) FROM {_STAGE} WHERE existed")
        if updated:
            conn.execute(
                f"DELETE FROM main.spend WHERE EXISTS (SELECT 1 FROM {_STAGE} AS s "
                "WHERE s.existed AND s.date = spend.date AND s.channel = spend.channel "
                "AND s.campaign = spend.campaign)"
            )
        conn.execute(
            "INSERT INTO main.spend (date, channel, campaign, spend) "
            f"SELECT date, channel, campaign, spend FROM {_STAGE} ORDER BY line"
        )
        return self.report(
            inserted=staged - updated,
            updated=updated,
            duplicates_merged=self.rows - staged,
            consent_changes=0,
        )

    def report(
        self, *, inserted: int, updated: int, duplicates_merged: int, consent_changes: int
    ) -> ImportReport:
        return ImportReport(
            kind=self.kind,
            file=self.name,
            rows=self.rows,
            inserted=inserted,
            updated=updated,
            duplicates_merged=duplicates_merged,
            consent_changes=consent_changes,
            replaced_demo=False,
        )


class _Stager:
    """Parses batches of records (column by column when it can) and stages the valid rows."""

    def __init__(self, job: _Job, header: _Header) -> None:
        self.job = job
        self.header = header
        fields = FIELDS[job.kind]
        self.defaults = [f.default for f in fields]
        self.present = [
            (position, header.positions[f.column], f)
            for position, f in enumerate(fields)
            if f.column in header.positions
        ]
        self.contacts = job.kind == "contacts"
        self.extras = header.extras if self.contacts else []
        self.keys = [json.dumps(name) for _, name in self.extras]
        marks = ", ".join("?" * len(_STAGED[job.kind]))
        self.insert = f"INSERT INTO {_STAGE} ({', '.join(_STAGED[job.kind])}) VALUES ({marks})"
        if job.kind == "spend":
            self.insert += (
                " ON CONFLICT (date, channel, campaign) DO UPDATE SET "
                "spend = excluded.spend, merged = merged + 1"
            )

    def stage(self, batch: list[list[str]], first_row: int) -> int:
        """Stage a batch whose first record is `first_row`; return its data rows."""
        if not batch:
            return 0
        rows = range(first_row, first_row + len(batch))
        parsed = self.parse_columns(batch, rows)
        data_rows = len(batch)
        if parsed is None:
            parsed, data_rows = self.parse_rows(batch, rows)
        if parsed:
            if self.contacts:
                self.job.note_emails([values[0] for values in parsed])
            self.job.conn.executemany(self.insert, parsed)
        return data_rows

    def parse_columns(self, batch: list[list[str]], rows: range) -> list[tuple[Any, ...]] | None:
        """The staged rows of a batch with no problem at all, or None to go row by row."""
        width = self.header.width
        if any(len(cells) != width for cells in batch):
            return None
        columns = list(zip(*batch, strict=True))
        values: list[Any] = [repeat(default) for default in self.defaults]
        try:
            for position, index, column in self.present:
                values[position] = column.parse_all(columns[index])
        except Exception:  # some cell is not plainly valid: parse_rows says which and why
            return None
        if any(any(map(str.strip, columns[index])) for index in self.header.unnamed):
            return None
        if self.contacts:
            if self.extras:
                extra = [list(map(str.strip, columns[index])) for index, _ in self.extras]
                keys = self.keys
                values.append([_attributes(keys, cells) for cells in zip(*extra, strict=True)])
            else:
                values.append(repeat("{}"))
        values.append(rows)
        return list(zip(*values, strict=False))  # defaults repeat without end

    def parse_rows(self, batch: list[list[str]], rows: range) -> tuple[list[tuple[Any, ...]], int]:
        """Parse a batch cell by cell, recording each problem; skip blank lines."""
        job = self.job
        width = self.header.width
        staged: list[tuple[Any, ...]] = []
        data_rows = 0
        for cells, row in zip(batch, rows, strict=True):
            if not "".join(cells).strip():
                continue  # a blank line, perhaps all commas, is not a data row
            data_rows += 1
            if len(cells) != width and (len(cells) < width or "".join(cells[width:]).strip()):
                job.error_rows += 1
                job.add_error(row, None, f"has {len(cells)} values but the header has {width}")
                continue
            values = self.defaults.copy()
            errors = job.error_count
            for position, index, column in self.present:
                try:
                    values[position] = column.parse(cells[index])
                except _Invalid as error:
                    job.add_error(row, column.column, str(error))
            for index in self.header.unnamed:
                if cells[index].strip():
                    job.add_error(row, None, f"column {index + 1} has a value but no name")
            if job.error_count > errors:
                job.error_rows += 1
                continue
            if self.contacts:
                extra = [cells[index].strip() for index, _ in self.extras]
                values.append(_attributes(self.keys, extra))
            values.append(row)
            staged.append(tuple(values))
        return staged, data_rows
