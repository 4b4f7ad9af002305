"""Reading a CSV file into the staging table and checking it whole, before any write."""

from __future__ import annotations

import codecs
import csv
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any, NoReturn, TypeAlias

from db.staging import ImportStage
from workspace.importer.cells import InvalidCell
from workspace.importer.formats import COLUMNS, FIELDS, REQUIRED_COLUMNS, ImportKind
from workspace.importer.report import ERROR_CAP, ImportRefused, RowError

Progress: TypeAlias = Callable[[int, int], None]
"""progress(rows_done, total_rows) every `PROGRESS_EVERY` rows read, and once at the end.

Until the end, total_rows is the file's line count less the header: an upper bound
(blank lines and line breaks inside cells count too); the last call gives the exact
count twice.
"""

PROGRESS_EVERY = 50_000
BATCH_ROWS = 250
"""Rows parsed and staged together: small batches keep the work in the CPU cache."""

STAGED: dict[str, tuple[str, ...]] = {
    **{kind: (*columns, "line") for kind, columns in COLUMNS.items()},
    "contacts": (*COLUMNS["contacts"], "attributes", "line"),
}
"""Each format's columns in the staging table (the writes add columns of their own)."""


@dataclass
class Header:
    """Where each known column sits in the file, and the other columns."""

    positions: dict[str, int]
    extras: list[tuple[int, str]]
    """(position, name) of the columns Baton does not know."""
    unnamed: list[int]
    """Positions of columns whose header cell is blank."""
    width: int


@dataclass
class Staging:
    """One file read into the staging table: its rows counted, its errors kept."""

    stage: ImportStage
    """The import's staging tables, in the caller's transaction."""
    kind: ImportKind
    path: Path
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
        """The file's name, as messages show it."""
        return self.path.name

    def refuse(self, reason: str, *, row: int | None = None, column: str | None = None) -> NoReturn:
        """Refuse the whole file; `row` (and `column`) when one place is to blame."""
        errors = [RowError(row=row, column=column, message=reason)] if row is not None else []
        raise ImportRefused(self.name, reason, errors)

    def add_error(self, row: int, column: str | None, message: str) -> None:
        """Count a row error, keeping the first `ERROR_CAP` of them."""
        self.error_count += 1
        if len(self.errors) < ERROR_CAP:
            self.errors.append(RowError(row=row, column=column, message=message))

    def read(self) -> Header:
        """Stage the file's valid rows and note every problem; return its header."""
        total = self.check_file()
        self.stage.create(STAGED[self.kind])
        return self.stage_records(total)

    def check(self, *, demo: bool) -> None:
        """Refuse the file, listing its row errors, unless every row is valid.

        With `demo` the demo contacts are about to be removed, so no event can refer to one.
        """
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
        """The line on which the file stops being UTF-8."""
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

    def read_header(self, cells: list[str]) -> Header:
        """Place the header row's columns; refuse a repeated or missing required column."""
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
        return Header(positions=positions, extras=extras, unnamed=unnamed, width=len(cells))

    def stage_records(self, total: int) -> Header:
        """Check every row and stage the valid ones, batch by batch."""
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

    def match_contacts(self, *, demo: bool) -> None:
        """Point each staged event at its contact; an unknown email is a row error."""
        hint = " (an import replaces the demo contacts: import your contacts first)" if demo else ""
        unknown, count = self.stage.unmatched_events(match=not demo, limit=ERROR_CAP)
        for line, email in unknown:
            self.add_error(line, "email", f"no contact with this email ({email}){hint}")
        self.error_count += count - len(unknown)
        self.error_rows += count


class _Stager:
    """Parses batches of records (column by column when it can) and stages the valid rows."""

    def __init__(self, staging: Staging, header: Header) -> None:
        self.staging = staging
        self.header = header
        fields = FIELDS[staging.kind]
        self.defaults = [f.default for f in fields]
        self.present = [
            (position, header.positions[f.column], f)
            for position, f in enumerate(fields)
            if f.column in header.positions
        ]
        self.contacts = staging.kind == "contacts"
        self.extras = header.extras if self.contacts else []
        self.keys = [json.dumps(name) for _, name in self.extras]

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
                self.staging.note_emails([values[0] for values in parsed])
            self.staging.stage.add(parsed)
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
        staging = self.staging
        width = self.header.width
        staged: list[tuple[Any, ...]] = []
        data_rows = 0
        for cells, row in zip(batch, rows, strict=True):
            if not "".join(cells).strip():
                continue  # a blank line, perhaps all commas, is not a data row
            data_rows += 1
            if len(cells) != width and (len(cells) < width or "".join(cells[width:]).strip()):
                staging.error_rows += 1
                staging.add_error(row, None, f"has {len(cells)} values but the header has {width}")
                continue
            values = self.defaults.copy()
            errors = staging.error_count
            for position, index, column in self.present:
                try:
                    values[position] = column.parse(cells[index])
                except InvalidCell as error:
                    staging.add_error(row, column.column, str(error))
            for index in self.header.unnamed:
                if cells[index].strip():
                    staging.add_error(row, None, f"column {index + 1} has a value but no name")
            if staging.error_count > errors:
                staging.error_rows += 1
                continue
            if self.contacts:
                extra = [cells[index].strip() for index, _ in self.extras]
                values.append(_attributes(self.keys, extra))
            values.append(row)
            staged.append(tuple(values))
        return staged, data_rows


def _attributes(keys: Sequence[str], values: Sequence[str]) -> str:
    """A JSON object of the non-blank values; `keys` are JSON-encoded already."""
    pairs = [f"{key}:{json.dumps(value)}" for key, value in zip(keys, values, strict=True) if value]
    return "{" + ",".join(pairs) + "}"
