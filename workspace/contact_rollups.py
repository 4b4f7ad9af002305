"""Per-contact rollups: RFM scores, purchase rhythm and recent activity, so a segment's
profile costs a lookup per recipient instead of a sort of every customer and a read of
each recipient's events.

Built by `refresh_contact_rollups`, which `workspace.rollups.refresh_rollups` calls in the
transaction that rebuilds the other rollups, and stamped with the workspace version it
read (`CONTACT_ROLLUP_VERSION_KEY`) and the format they were built in
(`CONTACT_ROLLUP_FORMAT`). A reader uses them only when that stamp equals the workspace
version its snapshot sees and the format is this one (`contact_rollups`); otherwise it
reads the events.

- `rollup_rfm_cut`: each RFM dimension's NTILE(5) tile tops over every purchaser.
- `rollup_contact_score`: per purchaser, its r, f and m scores on those cuts, and the
  count, first and last of its purchase events (the churn formula's purchase interval).
- `rollup_recent_engagement`: every open (weight 1) and click (weight 2) from
  `recent_from` on, by contact.
- `rollup_contact_day`: per contact, UTC day and messaging channel from `recent_from`
  on, its sends, clicks and purchases.
- `rollup_contact_channel`: the same counts per contact and channel over all those days,
  so a window that leaves out few of them is read as these totals less the days outside.

`recent_from` (meta `CONTACT_RECENT_KEY`) is RECENT_DAYS before the newest event's UTC
day, so a 90-day window ending at or after the newest event is answered here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.engine import Connection

from db.dialect import count_where_sql, create_keyed_table, utc_day_sql
from db.workspace import VERSION_KEY

CONTACT_ROLLUP_VERSION_KEY = "contact_rollups_workspace_version"
"""Meta key: the workspace version the per-contact rollups were built from."""
CONTACT_ROLLUP_FORMAT_KEY = "contact_rollups_format"
"""Meta key: the layout the per-contact rollups were built in."""
CONTACT_ROLLUP_FORMAT = "2"
"""This layout: bumped when a table is added or changed, so older builds are rebuilt."""
CONTACT_RECENT_KEY = "contact_rollups_recent_from"
"""Meta key: the UTC day from which the recent-activity rollups hold every event ("" = all)."""
RECENT_DAYS = 98
"""Days kept before the newest event's day: a 90-day lookback, and a week to spare."""

RFM_DIMENSIONS = (
    ("recency", "last_purchase_at"),
    ("frequency", "orders"),
    ("monetary", "lifetime_value"),
)
"""The RFM dimensions in score order (r, f, m) and the contact column each is cut on."""

RFM_CUTS_SQL = " UNION ALL ".join(
    f"SELECT {n} AS dimension, tile, max(value) AS top FROM ("
    f"SELECT {column} AS value, NTILE(5) OVER (ORDER BY {column}) AS tile "
    "FROM contact WHERE last_purchase_at IS NOT NULL) GROUP BY tile"
    for n, (_, column) in enumerate(RFM_DIMENSIONS)
)
"""One narrow NTILE(5) per dimension over every purchaser; each tile's largest value is a cut."""

_TABLES = {
    "rollup_rfm_cut": "dimension INTEGER NOT NULL, tile INTEGER NOT NULL, top, "
    "PRIMARY KEY (dimension, tile)",
    "rollup_contact_score": "contact_id INTEGER NOT NULL PRIMARY KEY, r INTEGER NOT NULL, "
    "f INTEGER NOT NULL, m INTEGER NOT NULL, purchases INTEGER NOT NULL, "
    "first_purchase TEXT, last_purchase TEXT",
    "rollup_recent_engagement": "contact_id INTEGER NOT NULL, occurred_at TEXT NOT NULL, "
    "event_id INTEGER NOT NULL, weight REAL NOT NULL, "
    "PRIMARY KEY (contact_id, occurred_at, event_id)",
    "rollup_contact_day": "contact_id INTEGER NOT NULL, day TEXT NOT NULL, "
    "channel TEXT NOT NULL, sends INTEGER NOT NULL, clicks INTEGER NOT NULL, "
    "purchases INTEGER NOT NULL, PRIMARY KEY (contact_id, day, channel)",
    "rollup_contact_channel": "contact_id INTEGER NOT NULL, channel TEXT NOT NULL, "
    "sends INTEGER NOT NULL, clicks INTEGER NOT NULL, purchases INTEGER NOT NULL, "
    "PRIMARY KEY (contact_id, channel)",
}


@dataclass(frozen=True)
class ContactRollups:
    """Per-contact rollups a snapshot may read: built from the workspace version it sees."""

    recent_from: str
    """The UTC day (ISO) from which the recent-activity tables hold every event; "" = all."""

    def covers(self, start: str) -> bool:
        """Whether the recent-activity tables hold every event at or after `start` (text)."""
        return start >= self.recent_from

    def span(self) -> tuple[date, date] | None:
        """The first and the last UTC day the recent-activity tables hold; None: every
        event is kept, from a day not recorded."""
        if not self.recent_from:
            return None
        first = date.fromisoformat(self.recent_from)
        return first, first + timedelta(days=RECENT_DAYS)

    def reads_totals(self, start: date, end: date) -> bool:
        """Whether the days [start, end), which these tables cover, are best read as
        `rollup_contact_channel`'s totals less the `rollup_contact_day` rows outside them:
        when fewer of the span's days are outside the window than in it."""
        span = self.span()
        if span is None:
            return False
        first, last = span
        outside = max(0, (start - first).days) + max(0, (last - end).days + 1)
        return outside < (end - start).days


def contact_rollups(conn: Connection) -> ContactRollups | None:
    """The per-contact rollups, if they were built from the workspace version `conn` sees."""
    rows: dict[str, str] = dict(
        conn.exec_driver_sql(
            "SELECT key, value FROM meta WHERE key IN (?, ?, ?, ?)",
            (
                VERSION_KEY,
                CONTACT_ROLLUP_VERSION_KEY,
                CONTACT_ROLLUP_FORMAT_KEY,
                CONTACT_RECENT_KEY,
            ),
        ).all()
    )
    version = rows.get(VERSION_KEY)
    if not version or rows.get(CONTACT_ROLLUP_VERSION_KEY) != version:
        return None
    if rows.get(CONTACT_ROLLUP_FORMAT_KEY) != CONTACT_ROLLUP_FORMAT:
        return None
    return ContactRollups(recent_from=rows.get(CONTACT_RECENT_KEY, ""))


def refresh_contact_rollups(conn: Connection, *, version: str) -> int:
    """Rebuild the per-contact rollups in the caller's transaction; returns the scored contacts."""
    for name, columns in _TABLES.items():
        create_keyed_table(conn, name, columns)
        conn.exec_driver_sql(f"DELETE FROM {name}")
    conn.exec_driver_sql(
        f"INSERT INTO rollup_rfm_cut (dimension, tile, top) {RFM_CUTS_SQL} ORDER BY 1, 2"
    )
    scores, params = _score_sql(conn)
    scored = conn.exec_driver_sql(
        "INSERT INTO rollup_contact_score (contact_id, r, f, m, purchases, first_purchase, "
        f"last_purchase) SELECT c.id, {scores}, coalesce(p.n, 0), p.first_at, p.last_at "
        "FROM contact c LEFT JOIN (SELECT contact_id, count(*) AS n, "
        "min(occurred_at) AS first_at, max(occurred_at) AS last_at FROM event "
        "WHERE event = 'purchase' GROUP BY contact_id) p ON p.contact_id = c.id "
        "WHERE c.last_purchase_at IS NOT NULL ORDER BY c.id",
        params,
    ).rowcount
    recent_from = _recent_from(conn)
    conn.exec_driver_sql(
        "INSERT INTO rollup_recent_engagement (contact_id, occurred_at, event_id, weight) "
        "SELECT contact_id, occurred_at, id, CASE WHEN event = 'click' THEN 2.0 ELSE 1.0 END "
        "FROM event WHERE event IN ('open', 'click') AND occurred_at >= ? "
        "ORDER BY contact_id, occurred_at, id",
        (recent_from,),
    )
    day = utc_day_sql("occurred_at")
    counts = ", ".join(count_where_sql(f"event = '{e}'") for e in ("send", "click", "purchase"))
    conn.exec_driver_sql(
        "INSERT INTO rollup_contact_day (contact_id, day, channel, sends, clicks, purchases) "
        f"SELECT contact_id, {day}, channel, {counts} FROM event "
        "WHERE event IN ('send', 'click', 'purchase') AND occurred_at >= ? "
        "AND channel IN ('email', 'sms', 'push') "
        f"GROUP BY contact_id, {day}, channel",
        (recent_from,),
    )
    conn.exec_driver_sql(
        "INSERT INTO rollup_contact_channel (contact_id, channel, sends, clicks, purchases) "
        "SELECT contact_id, channel, sum(sends), sum(clicks), sum(purchases) "
        "FROM rollup_contact_day GROUP BY contact_id, channel ORDER BY contact_id, channel"
    )
    conn.exec_driver_sql(
        "INSERT INTO meta (key, value) VALUES (?, ?), (?, ?), (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (
            CONTACT_ROLLUP_VERSION_KEY,
            version,
            CONTACT_ROLLUP_FORMAT_KEY,
            CONTACT_ROLLUP_FORMAT,
            CONTACT_RECENT_KEY,
            recent_from,
        ),
    )
    return int(scored)


def _score_sql(conn: Connection) -> tuple[str, tuple[object, ...]]:
    """SQL for the r, f and m scores of a purchaser's `contact` row (`c`), and its parameters.

    A score is 1 + the number of its dimension's tile tops below the value, the last
    tile's top (the maximum) left out: as `tools.rfm` scores them.
    """
    tops: dict[int, list[object]] = {n: [] for n in range(len(RFM_DIMENSIONS))}
    for dimension, top in conn.exec_driver_sql(
        "SELECT dimension, top FROM rollup_rfm_cut ORDER BY dimension, tile"
    ):
        tops[dimension].append(top)
    scores, params = [], []
    for n, (_, column) in enumerate(RFM_DIMENSIONS):
        cuts = tops[n][:-1]
        scores.append("(1" + "".join(f" + (c.{column} > ?)" for _ in cuts) + ")")
        params.extend(cuts)
    return ", ".join(scores), tuple(params)


def _recent_from(conn: Connection) -> str:
    """RECENT_DAYS before the newest event's UTC day ("" keeps all: none, or unreadable)."""
    newest = conn.exec_driver_sql(
        "SELECT max(t) FROM (SELECT max(occurred_at) AS t FROM event WHERE event = ? "
        "UNION ALL SELECT max(occurred_at) FROM event WHERE event = ? "
        "UNION ALL SELECT max(occurred_at) FROM event WHERE event = ? "
        "UNION ALL SELECT max(occurred_at) FROM event WHERE event = ?)",
        ("send", "open", "click", "purchase"),
    ).scalar()
    try:
        last = date.fromisoformat(str(newest)[:10])
    except ValueError:
        return ""
    return (last - timedelta(days=RECENT_DAYS)).isoformat()
