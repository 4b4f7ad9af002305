"""What an import hands back: its report, or its refusal and the row errors behind it."""

from __future__ import annotations

from pydantic import BaseModel

from db.errors import BatonError
from workspace.importer.formats import ImportKind

ERROR_CAP = 1000
"""Row errors kept (every row is still checked and counted)."""
ERRORS_SHOWN = 20
"""Row errors listed in a refusal's message."""


class RowError(BaseModel):
    """One problem in one row; `row` counts as a spreadsheet does (the header is row 1)."""

    row: int
    column: str | None = None
    """The column's name, or None for a problem with the whole row."""
    message: str

    def __str__(self) -> str:
        where = f"Row {self.row}, column {self.column}" if self.column else f"Row {self.row}"
        return f"{where}: {self.message}."


class ImportRefused(BatonError, ValueError):
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
