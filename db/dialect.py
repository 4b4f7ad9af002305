"""SQL dialect: the engine-specific values and fragments tools put in their queries (SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_text(moment: datetime) -> str:
    """A timezone-aware datetime in the text form timestamps are stored in (UTC).

    Stored timestamps are text, so SQL compares them as strings. PostgreSQL: pass the
    aware datetime itself, bound as a `timestamptz` parameter.
    """
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def days_between_sql(start: str, end: str) -> str:
    """SQL for the days, with fraction, from timestamp expression `start` to `end`.

    PostgreSQL: `(extract(epoch FROM (end - start)) / 86400.0)`.
    """
    return f"(julianday({end}) - julianday({start}))"


def utc_day_sql(column: str) -> str:
    """SQL for the UTC calendar day, as YYYY-MM-DD text, of a stored timestamp column.

    Stored timestamps are ISO text in UTC, so the day is their first ten characters.
    PostgreSQL: `to_char(column AT TIME ZONE 'UTC', 'YYYY-MM-DD')`.
    """
    return f"substr({column}, 1, 10)"


def not_indexed(table: str, alias: str = "") -> str:
    """`table` (with `alias`) for a FROM clause, read by a full scan instead of an index.

    PostgreSQL has no per-table hint: the planner chooses a sequential scan for a large
    share of a table by itself (`SET LOCAL enable_indexscan = off` forces it).
    """
    named = f"{table} {alias}" if alias else table
    return f"{named} NOT INDEXED"
