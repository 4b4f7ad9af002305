"""Writing a checked staging table into the workspace, replacing demo data, and reporting it."""

from __future__ import annotations

from dataclasses import dataclass

from db.staging import ImportStage
from workspace.importer.formats import COLUMNS, CONSENT_CHANNELS, ImportKind
from workspace.importer.report import ImportReport
from workspace.importer.staging import Header


@dataclass
class Writer:
    """Writes one import's checked rows from the staging table into the workspace."""

    stage: ImportStage
    """The import's staging tables, in the caller's transaction."""
    kind: ImportKind
    file: str
    rows: int
    """Data rows read from the file."""
    repeated: set[str]
    """Contact emails that may occur more than once in the file."""
    now_text: str
    source: str

    def write(self, header: Header, *, demo: bool) -> ImportReport:
        """Write the staged rows (clearing a demo workspace first) and report what changed."""
        if demo:
            self.stage.clear_demo()
        with self.stage.writing():
            if self.kind == "contacts":
                report = self.write_contacts(header)
            elif self.kind == "events":
                report = self.write_events()
            else:
                report = self.write_spend()
        report.replaced_demo = demo
        extras = [name for _, name in header.extras]
        if self.kind == "contacts":
            report.attributes = extras
        else:
            report.ignored_columns = extras
        return report

    def write_contacts(self, header: Header) -> ImportReport:
        """Update the stored contacts the file names, insert the others, record consents."""
        done = self.stage.write_contacts(
            columns=COLUMNS["contacts"],
            present=header.positions,
            attributes=bool(header.extras),
            repeated=self.repeated,
            consent_channels=CONSENT_CHANNELS,
            now_text=self.now_text,
            source=self.source,
        )
        return self.report(
            inserted=done.inserted,
            updated=done.updated,
            duplicates_merged=self.rows - done.staged,
            consent_changes=done.consent_changes,
        )

    def write_events(self) -> ImportReport:
        """Insert the events not stored yet and update their contacts."""
        inserted = self.stage.write_events()
        return self.report(
            inserted=inserted, updated=0, duplicates_merged=self.rows - inserted, consent_changes=0
        )

    def write_spend(self) -> ImportReport:
        """Replace the stored spend of each staged day, channel and campaign."""
        staged, updated = self.stage.write_spend()
        return self.report(
            inserted=staged - updated,
            updated=updated,
            duplicates_merged=self.rows - staged,
            consent_changes=0,
        )

    def report(
        self, *, inserted: int, updated: int, duplicates_merged: int, consent_changes: int
    ) -> ImportReport:
        """The report of this import with these counts."""
        return ImportReport(
            kind=self.kind,
            file=self.file,
            rows=self.rows,
            inserted=inserted,
            updated=updated,
            duplicates_merged=duplicates_merged,
            consent_changes=consent_changes,
            replaced_demo=False,
        )
