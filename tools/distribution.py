"""Distribution: queue outbound messages in the outbox, and export audiences as CSV files."""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session

from db.dialect import char_sql, count_where_sql, is_digits_sql, utc_text
from db.temp import id_table, key_table
from db.vocabulary import MESSAGING_CHANNELS

EXPORT_COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "country",
    "region",
    "timezone",
    "email_consent",
    "sms_consent",
    "push_consent",
)
"""Contact columns an export may contain."""
DEFAULT_EXPORT_COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "region",
    "timezone",
    "email_consent",
    "sms_consent",
    "push_consent",
)
EXPORT_BATCH = 5_000
_BOOLEAN_COLUMNS = frozenset({"email_consent", "sms_consent", "push_consent"})
_FORMULA_STARTS = f"'=', '+', '-', '@', {char_sql('9')}, {char_sql('13')}"
"""First characters a spreadsheet reads as a formula (OWASP's CSV injection list), as SQL."""

_ELIGIBLE = """
    FROM {ids} i
    JOIN contact c ON c.id = i.id
    CROSS JOIN {channels} ch
    WHERE NOT c.unsubscribed AND (
        (ch.channel = 'email' AND c.email_consent AND NOT c.bounced)
        OR (ch.channel = 'sms' AND c.sms_consent)
        OR (ch.channel = 'push' AND c.push_consent))
"""
"""Contact/channel pairs that may be messaged: consent, no unsubscribe, email not bounced.

A template: `ids` and `channels` are the temp tables of the targets.
"""


class DeliveryCounts(BaseModel):
    """What one queueing call did."""

    queued: int
    """Rows this call added to the outbox."""
    already_queued: int
    """Eligible rows that an earlier call had already added."""
    by_channel: dict[str, int]
    """Rows this call added, per channel."""
    skipped: int
    """Contact/channel pairs left out: no consent, unsubscribed, bounced or unknown contact."""


def queue_shadow_deliveries(
    session: Session,
    *,
    action_id: str,
    revision: int,
    contact_ids: list[int],
    channels: list[str],
    payload: dict[str, Any],
    now: datetime,
) -> DeliveryCounts:
    """Add a shadow-mode outbox row per eligible contact and channel; repeats add nothing.

    The idempotency key is "action:revision:contact:channel" and the insert ignores
    keys already present, so a retry or a second click queues no second message.
    """
    unknown = [c for c in channels if c not in MESSAGING_CHANNELS]
    if unknown:
        raise ValueError(f"cannot deliver on {', '.join(unknown)}; use email, sms or push")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    wanted = list(dict.fromkeys(channels))
    ids = sorted(set(contact_ids))
    conn = session.connection()
    params = {
        "prefix": f"{action_id}:{revision}:",
        "action_id": action_id,
        "payload": json.dumps(payload, sort_keys=True, default=str),
        "created_at": utc_text(now),
    }
    # The ids and channels go in temp tables so one INSERT ... SELECT does the rest.
    with (
        id_table(conn, "shadow_ids", ids) as id_rows,
        key_table(conn, "shadow_channels", wanted, column="channel") as channel_rows,
    ):
        eligible_pairs = _ELIGIBLE.format(ids=id_rows, channels=channel_rows)
        queued_before = count_where_sql(
            "EXISTS (SELECT 1 FROM delivery d "
            "WHERE d.idempotency_key = :prefix || c.id || ':' || ch.channel)"
        )
        eligible = conn.exec_driver_sql(
            f"SELECT ch.channel, count(*), {queued_before} {eligible_pairs} GROUP BY ch.channel",
            params,
        ).all()
        inserted = conn.exec_driver_sql(
            "INSERT INTO delivery (idempotency_key, action_id, contact_id, channel, connector, "
            "payload, status, attempts, created_at) "
            "SELECT :prefix || c.id || ':' || ch.channel, :action_id, c.id, ch.channel, "
            "'shadow', :payload, 'shadow', 0, :created_at "
            f"{eligible_pairs} ORDER BY c.id, ch.channel "
            "ON CONFLICT (idempotency_key) DO NOTHING",
            params,
        )
    total = sum(count for _, count, _ in eligible)
    existing = sum(done or 0 for _, _, done in eligible)
    by_channel = dict.fromkeys(wanted, 0)
    for channel, count, done in eligible:
        by_channel[channel] = count - (done or 0)
    queued = inserted.rowcount if inserted.rowcount >= 0 else total - existing
    return DeliveryCounts(
        queued=queued,
        already_queued=existing,
        by_channel=by_channel,
        skipped=len(ids) * len(wanted) - total,
    )


def esp_columns(channels: list[str]) -> list[str]:
    """The columns an ESP import of an audience for these channels needs (phone for SMS)."""
    columns = list(DEFAULT_EXPORT_COLUMNS)
    if "sms" in channels:
        columns.insert(columns.index("last_name") + 1, "phone")
    return columns


def export_audience_csv(
    session: Session, *, contact_ids: list[int], path: Path, columns: list[str] | None = None
) -> int:
    """Write the contacts to a CSV file (header always) and return the data rows written.

    Unsubscribed contacts and unknown ids are skipped, so len(set(contact_ids)) minus the
    return value is how many were left out. Rows go in id order, read in batches of
    EXPORT_BATCH; consent flags are written as true/false, and a text cell a spreadsheet
    would run as a formula gets a leading apostrophe. The file appears complete or not at
    all: it is written beside `path` and renamed into place, so writing it again replaces it.
    """
    chosen = list(DEFAULT_EXPORT_COLUMNS if columns is None else columns)
    unknown = [c for c in chosen if c not in EXPORT_COLUMNS]
    if unknown or not chosen or len(set(chosen)) != len(chosen):
        raise ValueError(
            f"columns must be distinct names from {', '.join(EXPORT_COLUMNS)}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    conn = session.connection()
    partial = path.with_name(f".{path.name}.partial")
    written = 0
    with id_table(conn, "export_ids", contact_ids) as id_rows:
        try:
            # Keyset pages driven by the id list: each batch starts after the last id written,
            # so memory stays flat and a short list never walks the whole contact table.
            # Values are formatted in SQL; the id rides along last, for the next page.
            select = (
                f"SELECT {', '.join(_export_value(column) for column in chosen)}, c.id "
                f"FROM {id_rows} i JOIN contact c ON c.id = i.id "
                "WHERE NOT c.unsubscribed AND i.id > ? ORDER BY i.id LIMIT ?"
            )
            with partial.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(chosen)
                after = -(2**63)  # below any id (a 64-bit integer)
                while True:
                    batch = conn.exec_driver_sql(select, (after, EXPORT_BATCH)).all()
                    if not batch:
                        break
                    writer.writerows(row[:-1] for row in batch)
                    written += len(batch)
                    after = batch[-1][-1]
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    return written


def _export_value(column: str) -> str:
    """A column as CSV text: consent flags as true/false, a missing value as empty.

    Text starting with a formula character gets a leading apostrophe, so a spreadsheet
    shows it instead of running it. A phone number in E.164 form ("+15551234567") is kept
    as it is: digits after the plus carry no formula, and an ESP import needs the plus.
    """
    if column in _BOOLEAN_COLUMNS:
        return f"CASE WHEN c.{column} THEN 'true' ELSE 'false' END"
    value = f"coalesce(c.{column}, '')"
    safe = (
        f"CASE WHEN substr({value}, 1, 1) IN ({_FORMULA_STARTS}) "
        f"THEN '''' || {value} ELSE {value} END"
    )
    if column == "phone":
        return f"CASE WHEN {is_digits_sql(value, prefix='+')} THEN {value} ELSE {safe} END"
    return safe
