"""The CSV import's staging tables, and the set-based writes from them into the workspace.

An import stages its checked rows in TEMP tables and, once the whole file is valid,
writes them with a few statements (UPDATE ... FROM, INSERT ... SELECT), all on the
driver connection of the caller's write transaction (see db/bulk.py). SQLite specifics:
tables qualified `temp.` and `main.`, the staging order read from rowid, json_patch to
merge attribute objects, booleans written as 0/1, and new rows numbered after the
largest id. PostgreSQL: a `bigserial` column for the staging order, `jsonb ||` (which,
unlike json_patch, keeps keys set to null), true/false, and ids from the sequence.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from sqlalchemy.engine import Connection

from db.bulk import DriverConnection, driver_connection, insert_sql, page_cache
from db.temp import temp_name

StageKind: TypeAlias = Literal["contacts", "events", "spend"]

CACHE_KIB = 64 * 1024
"""Page cache while an import writes: holds a million-row email index."""

_STAGE_NAME = "baton_import_stage"
STAGE = temp_name(_STAGE_NAME)
DUPLICATES = temp_name("baton_import_duplicates")
MERGED = temp_name("baton_import_merged")
TEMP_TABLES = (STAGE, DUPLICATES, MERGED)
"""The TEMP tables an import creates; none outlives it."""

_STAGE_EXTRA: dict[str, str] = {
    "contacts": ", contact_id INTEGER, old_email_consent, old_sms_consent, old_push_consent",
    "events": ", contact_id INTEGER",
    "spend": ", merged INTEGER DEFAULT 0, existed INTEGER DEFAULT 0, "
    "UNIQUE (date, channel, campaign)",
}
"""The columns each kind's writes add to the staged ones."""


def _scalar(driver: DriverConnection, sql: str, *params: Any) -> int:
    """The integer a one-value query returns (0 for NULL)."""
    return int(driver.execute(sql, params).fetchone()[0] or 0)


@dataclass(frozen=True)
class ContactWrite:
    """What writing the staged contacts did."""

    staged: int
    """Rows left in the stage once repeated emails were merged."""
    updated: int
    inserted: int
    consent_changes: int


class ImportStage:
    """One import's TEMP tables, on the driver connection of the caller's transaction."""

    def __init__(self, conn: Connection, kind: StageKind) -> None:
        self.driver = driver_connection(conn)
        self.kind = kind
        self._columns: tuple[str, ...] = ()
        self._insert = ""

    def create(self, columns: Sequence[str]) -> None:
        """Create the staging table afresh with `columns` (the staged values, in order)."""
        self.drop()
        self._columns = tuple(columns)
        self.driver.execute(f"CREATE TABLE {STAGE} ({', '.join(columns)}{_STAGE_EXTRA[self.kind]})")
        self._insert = insert_sql(STAGE, columns)
        if self.kind == "spend":
            # A later row for the same day, channel and campaign replaces an earlier one.
            self._insert += (
                " ON CONFLICT (date, channel, campaign) DO UPDATE SET "
                "spend = excluded.spend, merged = merged + 1"
            )

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        """Stage the rows, each a sequence of values in the created columns' order."""
        self.driver.executemany(self._insert, rows)

    def drop(self) -> None:
        """Drop every TEMP table of the import."""
        for table in TEMP_TABLES:
            self.driver.execute(f"DROP TABLE IF EXISTS {table}")

    def unmatched_events(self, *, match: bool, limit: int) -> tuple[list[tuple[int, str]], int]:
        """Point each staged event at the contact with its email (with `match`; otherwise none
        can have one); return the first `limit` (line, email) with no contact, in file order,
        and how many there are."""
        if match:
            self.driver.execute(
                f"UPDATE {STAGE} SET contact_id = (SELECT id FROM main.contact "
                f"WHERE contact.email = {_STAGE_NAME}.email)"
            )
        unknown = self.driver.execute(
            f"SELECT line, email FROM {STAGE} WHERE contact_id IS NULL ORDER BY rowid LIMIT ?",
            (limit,),
        ).fetchall()
        count = _scalar(self.driver, f"SELECT count(*) FROM {STAGE} WHERE contact_id IS NULL")
        return unknown, count

    def workspace_is_demo(self) -> bool:
        """Whether the workspace holds generated demo data, which an import replaces."""
        row = self.driver.execute(
            "SELECT value FROM meta WHERE key = 'workspace_source'"
        ).fetchone()
        return row is not None and row[0] == "demo"

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
            self.driver.execute(statement)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """The block writes the stage into the workspace: a larger page cache meanwhile."""
        with page_cache(self.driver, CACHE_KIB):
            yield

    def write_contacts(
        self,
        *,
        columns: Sequence[str],
        present: Collection[str],
        attributes: bool,
        repeated: Collection[str],
        consent_channels: Sequence[str],
        now_text: str,
        source: str,
    ) -> ContactWrite:
        """Update the stored contacts the stage names, insert the others, record consents.

        `columns` are the contact columns a file may have (email first), `present` those
        this file has; `attributes` whether it has attribute columns; `repeated` the
        emails that may occur more than once; consent changes are recorded at `now_text`
        with `source`.
        """
        driver = self.driver
        if repeated:
            self._merge_repeated(columns, repeated)
        staged = _scalar(driver, f"SELECT count(*) FROM {STAGE}")
        updated = 0
        if _scalar(driver, "SELECT EXISTS (SELECT 1 FROM main.contact)"):
            driver.execute(
                f"UPDATE {STAGE} SET contact_id = c.id, old_email_consent = c.email_consent, "
                "old_sms_consent = c.sms_consent, old_push_consent = c.push_consent "
                f"FROM main.contact AS c WHERE c.email = {_STAGE_NAME}.email"
            )
            updated = _scalar(driver, f"SELECT count(*) FROM {STAGE} WHERE contact_id IS NOT NULL")
        consent_changes = 0
        if updated:
            self._update_contacts(columns, present, attributes)
            consent_changes += self._record_consent_changes(
                present, consent_channels, now_text, source
            )
        last_id = _scalar(driver, "SELECT max(id) FROM main.contact")
        values = ["coalesce(created_at, ?)" if c == "created_at" else c for c in columns]
        inserted = driver.execute(
            f"INSERT INTO main.contact ({', '.join(columns)}, bounced, attributes) "
            f"SELECT {', '.join(values)}, 0, attributes FROM {STAGE} "
            f"WHERE contact_id IS NULL ORDER BY {'line' if repeated else 'rowid'}",
            (now_text,),
        ).rowcount
        # A rowid table numbers new rows after its largest id, so the new contacts are
        # exactly those above `last_id`: their consents need no second lookup by email.
        if _scalar(driver, "SELECT count(*) FROM main.contact WHERE id > ?", last_id) != inserted:
            raise RuntimeError("new contacts did not get ids after the existing ones")
        consent_changes += driver.execute(
            "INSERT INTO main.consentchange (contact_id, channel, granted, at, source) "
            "SELECT c.id, ch.column1, 1, ?, ? FROM main.contact AS c "
            "CROSS JOIN (VALUES ('email'), ('sms'), ('push')) AS ch WHERE c.id > ? AND "
            "CASE ch.column1 WHEN 'email' THEN c.email_consent WHEN 'sms' THEN c.sms_consent "
            "ELSE c.push_consent END",
            (now_text, source, last_id),
        ).rowcount
        return ContactWrite(
            staged=staged, updated=updated, inserted=inserted, consent_changes=consent_changes
        )

    def _merge_repeated(self, columns: Sequence[str], repeated: Collection[str]) -> None:
        """Fold the staged rows of each repeated email into one, later rows updating earlier."""
        driver = self.driver
        staged = ", ".join(self._columns)
        driver.execute(f"CREATE TABLE {DUPLICATES} (email TEXT PRIMARY KEY)")
        driver.executemany(f"INSERT INTO {DUPLICATES} VALUES (?)", [(email,) for email in repeated])
        driver.execute(f"CREATE TABLE {MERGED} ({staged}, PRIMARY KEY (email))")
        later = [
            f"{column} = excluded.{column}"
            for column in columns
            if column not in ("email", "created_at")
        ]
        driver.execute(
            f"INSERT INTO {MERGED} ({staged}) SELECT {staged} FROM {STAGE} "
            f"WHERE email IN (SELECT email FROM {DUPLICATES}) ORDER BY line "
            f"ON CONFLICT (email) DO UPDATE SET {', '.join(later)}, "
            "created_at = coalesce(excluded.created_at, created_at), "
            "attributes = json_patch(attributes, excluded.attributes)"
        )
        driver.execute(f"DELETE FROM {STAGE} WHERE email IN (SELECT email FROM {DUPLICATES})")
        driver.execute(f"INSERT INTO {STAGE} ({staged}) SELECT {staged} FROM {MERGED}")

    def _update_contacts(
        self, columns: Sequence[str], present: Collection[str], attributes: bool
    ) -> None:
        """Overwrite stored contacts with the columns the file has."""
        sets = [
            f"{column} = s.{column}"
            for column in columns[1:]
            if column in present and column != "created_at"
        ]
        if "created_at" in present:
            sets.append("created_at = coalesce(s.created_at, contact.created_at)")
        if attributes:
            sets.append("attributes = json_patch(contact.attributes, s.attributes)")
        if sets:
            self.driver.execute(
                f"UPDATE main.contact SET {', '.join(sets)} FROM {STAGE} AS s "
                "WHERE s.contact_id = contact.id"
            )

    def _record_consent_changes(
        self, present: Collection[str], channels: Sequence[str], now_text: str, source: str
    ) -> int:
        """Append a ConsentChange for each stored contact's consent the file changed."""
        changes = 0
        for channel in channels:
            column = f"{channel}_consent"
            if column not in present:
                continue
            changes += self.driver.execute(
                "INSERT INTO main.consentchange (contact_id, channel, granted, at, source) "
                f"SELECT contact_id, ?, {column}, ?, ? FROM {STAGE} "
                f"WHERE contact_id IS NOT NULL AND {column} != old_{column} ORDER BY contact_id",
                (channel, now_text, source),
            ).rowcount
        return changes

    def write_events(self) -> int:
        """Insert the staged events not stored yet, update their contacts; return how many."""
        driver = self.driver
        driver.execute(
            f"DELETE FROM {STAGE} WHERE rowid NOT IN (SELECT min(rowid) FROM {STAGE} "
            "GROUP BY contact_id, channel, event, campaign, variant, occurred_at, revenue)"
        )
        driver.execute(
            f"DELETE FROM {STAGE} WHERE EXISTS (SELECT 1 FROM main.event AS e "
            f"WHERE e.contact_id = {_STAGE_NAME}.contact_id "
            f"AND e.event = {_STAGE_NAME}.event "
            f"AND e.occurred_at = {_STAGE_NAME}.occurred_at "
            f"AND e.channel = {_STAGE_NAME}.channel "
            f"AND e.campaign = {_STAGE_NAME}.campaign "
            f"AND e.variant = {_STAGE_NAME}.variant "
            f"AND e.revenue = {_STAGE_NAME}.revenue)"
        )
        inserted: int = driver.execute(
            "INSERT INTO main.event (contact_id, channel, event, campaign, variant, "
            "occurred_at, revenue) SELECT contact_id, channel, event, campaign, variant, "
            f"occurred_at, revenue FROM {STAGE} ORDER BY rowid"
        ).rowcount
        driver.execute(
            "UPDATE main.contact SET unsubscribed = 1 WHERE id IN "
            f"(SELECT contact_id FROM {STAGE} WHERE event = 'unsubscribe')"
        )
        driver.execute(
            "UPDATE main.contact SET bounced = 1 WHERE id IN "
            f"(SELECT contact_id FROM {STAGE} WHERE event = 'bounce' AND channel = 'email')"
        )
        driver.execute(
            "UPDATE main.contact SET orders = contact.orders + p.purchases, "
            "lifetime_value = round(contact.lifetime_value + p.total, 2), "
            "last_purchase_at = CASE WHEN contact.last_purchase_at IS NULL "
            "OR contact.last_purchase_at < p.last THEN p.last ELSE contact.last_purchase_at END "
            "FROM (SELECT contact_id, count(*) AS purchases, sum(revenue) AS total, "
            f"max(occurred_at) AS last FROM {STAGE} WHERE event = 'purchase' "
            "GROUP BY contact_id) AS p WHERE contact.id = p.contact_id"
        )
        return inserted

    def write_spend(self) -> tuple[int, int]:
        """Replace the stored spend of each staged day, channel and campaign.

        Returns (rows staged, rows that replaced stored spend).
        """
        driver = self.driver
        staged = _scalar(driver, f"SELECT count(*) FROM {STAGE}")
        driver.execute(
            f"UPDATE {STAGE} SET existed = 1 WHERE EXISTS (SELECT 1 FROM main.spend AS s "
            f"WHERE s.date = {_STAGE_NAME}.date AND s.channel = {_STAGE_NAME}.channel "
            f"AND s.campaign = {_STAGE_NAME}.campaign)"
        )
        updated = _scalar(driver, f"SELECT count(*) FROM {STAGE} WHERE existed")
        if updated:
            driver.execute(
                f"DELETE FROM main.spend WHERE EXISTS (SELECT 1 FROM {STAGE} AS s "
                "WHERE s.existed AND s.date = spend.date AND s.channel = spend.channel "
                "AND s.campaign = spend.campaign)"
            )
        driver.execute(
            "INSERT INTO main.spend (date, channel, campaign, spend) "
            f"SELECT date, channel, campaign, spend FROM {STAGE} ORDER BY line"
        )
        return staged, updated
