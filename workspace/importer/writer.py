"""Writing a checked staging table into the workspace, set-based, replacing demo data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workspace.importer.formats import COLUMNS, CONSENT_CHANNELS, ImportKind
from workspace.importer.report import ImportReport
from workspace.importer.staging import DUPLICATES, MERGED, STAGE, STAGED, Header, scalar

CACHE_KIB = 64 * 1024
"""SQLite page cache while the import writes: holds a million-row email index."""


def is_demo(conn: Any) -> bool:
    """Whether the workspace holds generated demo data, which an import replaces."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'workspace_source'").fetchone()
    return row is not None and row[0] == "demo"


@dataclass
class Writer:
    """Writes one import's checked rows from the staging table into the workspace."""

    conn: Any
    """The sqlite3 connection under the caller's session, inside its transaction."""
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
            self.clear_demo()
        cache_size = scalar(self.conn, "PRAGMA main.cache_size")
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
        staged = ", ".join(STAGED["contacts"])
        conn.execute(f"CREATE TABLE {DUPLICATES} (email TEXT PRIMARY KEY)")
        conn.executemany(
            f"INSERT INTO {DUPLICATES} VALUES (?)", [(email,) for email in self.repeated]
        )
        conn.execute(f"CREATE TABLE {MERGED} ({staged}, PRIMARY KEY (email))")
        later = [
            f"{column} = excluded.{column}"
            for column in COLUMNS["contacts"]
            if column not in ("email", "created_at")
        ]
        conn.execute(
            f"INSERT INTO {MERGED} ({staged}) SELECT {staged} FROM {STAGE} "
            f"WHERE email IN (SELECT email FROM {DUPLICATES}) ORDER BY line "
            f"ON CONFLICT (email) DO UPDATE SET {', '.join(later)}, "
            "created_at = coalesce(excluded.created_at, created_at), "
            "attributes = json_patch(attributes, excluded.attributes)"
        )
        conn.execute(f"DELETE FROM {STAGE} WHERE email IN (SELECT email FROM {DUPLICATES})")
        conn.execute(f"INSERT INTO {STAGE} ({staged}) SELECT {staged} FROM {MERGED}")

    def write_contacts(self, header: Header) -> ImportReport:
        """Update the stored contacts the file names, insert the others, record consents."""
        conn = self.conn
        if self.repeated:
            self.merge_repeated()
        staged = scalar(conn, f"SELECT count(*) FROM {STAGE}")
        updated = 0
        if scalar(conn, "SELECT EXISTS (SELECT 1 FROM main.contact)"):
            conn.execute(
                f"UPDATE {STAGE} SET contact_id = c.id, old_email_consent = c.email_consent, "
                "old_sms_consent = c.sms_consent, old_push_consent = c.push_consent "
                "FROM main.contact AS c WHERE c.email = baton_import_stage.email"
            )
            updated = scalar(conn, f"SELECT count(*) FROM {STAGE} WHERE contact_id IS NOT NULL")
        consent_changes = 0
        if updated:
            self.update_contacts(header)
            consent_changes += self.record_consent_changes(header)
        last_id = scalar(conn, "SELECT max(id) FROM main.contact")
        columns = COLUMNS["contacts"]
        values = ["coalesce(created_at, ?)" if c == "created_at" else c for c in columns]
        inserted = conn.execute(
            f"INSERT INTO main.contact ({', '.join(columns)}, bounced, attributes) "
            f"SELECT {', '.join(values)}, 0, attributes FROM {STAGE} "
            f"WHERE contact_id IS NULL ORDER BY {'line' if self.repeated else 'rowid'}",
            (self.now_text,),
        ).rowcount
        # A rowid table numbers new rows after its largest id, so the new contacts are
        # exactly those above `last_id`: their consents need no second lookup by email.
        if scalar(conn, "SELECT count(*) FROM main.contact WHERE id > ?", last_id) != inserted:
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

    def update_contacts(self, header: Header) -> None:
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
                f"UPDATE main.contact SET {', '.join(sets)} FROM {STAGE} AS s "
                "WHERE s.contact_id = contact.id"
            )

    def record_consent_changes(self, header: Header) -> int:
        """Append a ConsentChange for each stored contact's consent the file changed."""
        changes = 0
        for channel in CONSENT_CHANNELS:
            column = f"{channel}_consent"
            if column not in header.positions:
                continue
            changes += self.conn.execute(
                "INSERT INTO main.consentchange (contact_id, channel, granted, at, source) "
                f"SELECT contact_id, ?, {column}, ?, ? FROM {STAGE} "
                f"WHERE contact_id IS NOT NULL AND {column} != old_{column} ORDER BY contact_id",
                (channel, self.now_text, self.source),
            ).rowcount
        return changes

    def write_events(self) -> ImportReport:
        """Insert the events not stored yet and update their contacts."""
        conn = self.conn
        conn.execute(
            f"DELETE FROM {STAGE} WHERE rowid NOT IN (SELECT min(rowid) FROM {STAGE} "
            "GROUP BY contact_id, channel, event, campaign, variant, occurred_at, revenue)"
        )
        conn.execute(
            f"DELETE FROM {STAGE} WHERE EXISTS (SELECT 1 FROM main.event AS e "
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
            f"occurred_at, revenue FROM {STAGE} ORDER BY rowid"
        ).rowcount
        conn.execute(
            "UPDATE main.contact SET unsubscribed = 1 WHERE id IN "
            f"(SELECT contact_id FROM {STAGE} WHERE event = 'unsubscribe')"
        )
        conn.execute(
            "UPDATE main.contact SET bounced = 1 WHERE id IN "
            f"(SELECT contact_id FROM {STAGE} WHERE event = 'bounce' AND channel = 'email')"
        )
        conn.execute(
            "UPDATE main.contact SET orders = contact.orders + p.purchases, "
            "lifetime_value = round(contact.lifetime_value + p.total, 2), "
            "last_purchase_at = CASE WHEN contact.last_purchase_at IS NULL "
            "OR contact.last_purchase_at < p.last THEN p.last ELSE contact.last_purchase_at END "
            "FROM (SELECT contact_id, count(*) AS purchases, sum(revenue) AS total, "
            f"max(occurred_at) AS last FROM {STAGE} WHERE event = 'purchase' "
            "GROUP BY contact_id) AS p WHERE contact.id = p.contact_id"
        )
        return self.report(
            inserted=inserted, updated=0, duplicates_merged=self.rows - inserted, consent_changes=0
        )

    def write_spend(self) -> ImportReport:
        """Replace the stored spend of each staged day, channel and campaign."""
        conn = self.conn
        staged = scalar(conn, f"SELECT count(*) FROM {STAGE}")
        conn.execute(
            f"UPDATE {STAGE} SET existed = 1 WHERE EXISTS (SELECT 1 FROM main.spend AS s "
            "WHERE s.date = baton_import_stage.date AND s.channel = baton_import_stage.channel "
            "AND s.campaign = baton_import_stage.campaign)"
        )
        updated = scalar(conn, f"SELECT count(*) FROM {STAGE} WHERE existed")
        if updated:
            conn.execute(
                f"DELETE FROM main.spend WHERE EXISTS (SELECT 1 FROM {STAGE} AS s "
                "WHERE s.existed AND s.date = spend.date AND s.channel = spend.channel "
                "AND s.campaign = spend.campaign)"
            )
        conn.execute(
            "INSERT INTO main.spend (date, channel, campaign, spend) "
            f"SELECT date, channel, campaign, spend FROM {STAGE} ORDER BY line"
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
