"""SQL dialect: the engine-specific values, fragments and statements Baton's SQL is built from.

SQLite is the engine; each function's docstring gives its PostgreSQL form, so that a
port changes this module (and the other db/ modules), not the tools and agents.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy.engine import Connection


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


def flag_sql(condition: str) -> str:
    """SQL for a condition as a number: 1 where it holds, 0 where not (NULL stays NULL).

    SQLite's booleans are integers already. PostgreSQL: `(condition)::int`.
    """
    return f"({condition})"


def count_where_sql(condition: str) -> str:
    """SQL aggregate: how many rows of the group `condition` holds for (NULL over no rows).

    Also usable as a window function (append OVER ...). SQLite sums the condition itself.
    PostgreSQL: `sum((condition)::int)`.
    """
    return f"sum({condition})"


def greatest_sql(*values: str) -> str:
    """SQL for the largest of two or more values; NULL if any of them is NULL.

    SQLite's scalar max(). PostgreSQL's greatest() skips NULLs instead, so callers that
    rely on the NULL need `CASE WHEN a IS NULL OR b IS NULL THEN NULL ELSE greatest(a, b) END`.
    """
    if len(values) < 2:
        raise ValueError("greatest_sql needs two or more values")
    return f"max({', '.join(values)})"


def least_sql(*values: str) -> str:
    """SQL for the smallest of two or more values; NULL if any of them is NULL.

    SQLite's scalar min(). PostgreSQL: least(), wrapped like `greatest_sql` for the NULL.
    """
    if len(values) < 2:
        raise ValueError("least_sql needs two or more values")
    return f"min({', '.join(values)})"


def string_agg_sql(expression: str, separator: str) -> str:
    """SQL aggregate: the group's texts joined with `separator` (SQL text), in no set order.

    PostgreSQL: `string_agg(expression, separator)`.
    """
    return f"group_concat({expression}, {separator})"


def char_sql(code: str) -> str:
    """SQL for the one-character text of the Unicode code point `code` (an SQL integer).

    PostgreSQL: `chr(code)`.
    """
    return f"char({code})"


def id_list_sql(parameter: str, alias: str) -> str:
    """A FROM item named `alias`: one row per element, in column `value`, of the JSON array
    of integers bound to `:parameter` (one parameter however long the list).

    PostgreSQL: `(SELECT CAST(v AS bigint) AS value FROM
    json_array_elements_text(CAST(:parameter AS json)) AS t(v)) alias`.
    """
    return f"json_each(:{parameter}) {alias}"


def is_digits_sql(text: str, *, prefix: str = "") -> str:
    """SQL true when `text` is `prefix` followed by one or more ASCII digits, and nothing else.

    `prefix` is literal text (no quotes, no pattern characters). PostgreSQL:
    `text ~ '^<prefix>[0-9]+$'`, the prefix escaped for the regex.
    """
    if any(c in prefix for c in "'*?[]"):
        raise ValueError("prefix must be plain text")
    return (
        f"({text} GLOB '{prefix}[0-9]*' AND substr({text}, {len(prefix) + 1}) NOT GLOB '*[^0-9]*')"
    )


def unindexed(column: str) -> str:
    """`column` for a WHERE term that must not lead the planner to an index on it.

    SQLite: a unary plus, after which the term no longer matches an index. PostgreSQL has
    no per-term hint (the planner weighs a sequential scan itself): the column as it is.
    """
    return f"+{column}"


def ordered_join() -> str:
    """The join keyword that keeps the table on its left as the outer loop (takes ON).

    SQLite: CROSS JOIN, an inner join the planner never reorders. PostgreSQL: JOIN (its
    CROSS JOIN takes no ON); `SET LOCAL join_collapse_limit = 1` keeps the written order.
    """
    return "CROSS JOIN"


def weekday_sql(timestamp: str) -> str:
    """SQL for the weekday, 0 = Monday to 6 = Sunday, of a timestamp expression.

    PostgreSQL: `(extract(isodow FROM timestamp)::int - 1)`.
    """
    return f"((CAST(strftime('%w', {timestamp}) AS INTEGER) + 6) % 7)"


def hour_sql(timestamp: str) -> str:
    """SQL for the hour, 0-23, of a timestamp expression.

    PostgreSQL: `extract(hour FROM timestamp)::int`.
    """
    return f"CAST(strftime('%H', {timestamp}) AS INTEGER)"


def add_minutes_sql(timestamp: str, minutes: str) -> str:
    """SQL for a timestamp expression moved by `minutes` (an SQL integer, may be negative).

    SQLite reads any ISO form and gives 'YYYY-MM-DD HH:MM:SS' text. PostgreSQL:
    `timestamp + make_interval(mins => minutes)`.
    """
    return f"datetime({timestamp}, printf('%+d minutes', {minutes}))"


def utc_minute_of_day_sql(column: str) -> str:
    """SQL for the UTC minute of the day, 0-1439, of a stored timestamp column; NULL when
    its text is not in the stored form (see `utc_text`), so the caller can fall back.

    Stored timestamps are 'YYYY-MM-DD HH:MM:SS[.ffffff]' text, so hour and minute sit at
    fixed places. PostgreSQL: `(extract(hour FROM column AT TIME ZONE 'UTC') * 60 +
    extract(minute FROM column AT TIME ZONE 'UTC'))::int`, never NULL for a timestamp.
    """
    return (
        f"CASE WHEN length({column}) IN (19, 26) THEN "
        f"CAST(substr({column}, 12, 2) AS INTEGER) * 60 "
        f"+ CAST(substr({column}, 15, 2) AS INTEGER) END"
    )


def insert_ignoring_sql(table: str, columns: Sequence[str], rows: str) -> str:
    """INSERT of `rows` (VALUES or a SELECT) that skips any row whose key the table holds.

    SQLite: INSERT OR IGNORE. PostgreSQL: INSERT ... ON CONFLICT DO NOTHING (at the end).
    """
    return f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) {rows}"


def insert_adding_sql(table: str, *, keys: Sequence[str], sums: Sequence[str], rows: str) -> str:
    """INSERT of `rows` (a SELECT of the keys, then the sums) adding rows with equal keys.

    `rows` may hold many rows per key: each key ends with one row holding the totals
    (added to a row the table held already). `keys` must be the table's primary key.
    SQLite: one upsert that adds each row into its group, far cheaper than sorting tens of
    millions of rows for a GROUP BY; `rows` must have a WHERE clause (the upsert syntax
    needs it). PostgreSQL: an upsert may not touch a row twice in one statement, so
    `INSERT ... SELECT keys, sum(...) FROM (rows) r GROUP BY keys ON CONFLICT (keys)
    DO UPDATE SET s = table.s + excluded.s`.
    """
    added = ", ".join(f"{column} = {table}.{column} + excluded.{column}" for column in sums)
    return (
        f"INSERT INTO {table} ({', '.join([*keys, *sums])}) {rows} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {added}"
    )


def create_keyed_table(conn: Connection, name: str, columns: str) -> None:
    """Create table `name` if it is missing, its rows stored in primary-key order with no
    separate row id. `columns` holds the PRIMARY KEY clause.

    SQLite: WITHOUT ROWID. PostgreSQL: the same CREATE TABLE without the suffix (CLUSTER
    on the key after a rebuild, if the order matters).
    """
    conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {name} ({columns}) WITHOUT ROWID")


def run_sqlite_ddl(conn: Connection, statements: Iterable[str]) -> None:
    """Run DDL written for SQLite alone (FTS5 tables, triggers); on another engine, nothing.

    The statement groups are named where they are defined: `db.search.NOTE_FTS` and
    `FEEDBACK_FTS` (full-text search), `db.memory.IMMUTABILITY` (the decision record's
    triggers). PostgreSQL: tsvector columns with GIN indexes, and plpgsql trigger functions
    that RAISE EXCEPTION, applied by the port's own migration step.
    """
    if conn.dialect.name != "sqlite":
        return
    for statement in statements:
        conn.exec_driver_sql(statement)
