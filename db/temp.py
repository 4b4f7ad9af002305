"""Temporary tables: how tools hand a large set of ids or keys to SQL (not an IN list)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection

from db.dialect import insert_ignoring_sql


def temp_name(name: str) -> str:
    """The qualified name of temp table `name` (PostgreSQL: `pg_temp.<name>`)."""
    return f"temp.{name}"


def create_temp_table(conn: Connection, name: str, columns: str, *, key: str = "") -> str:
    """Create temp table `name` afresh (dropping one left behind); return its qualified name.

    The table lives on this connection only; drop it with `drop_temp_table`. With `key`
    (column names), the rows are stored in key order under that primary key, with no
    separate row id (SQLite: WITHOUT ROWID). PostgreSQL: the same CREATE TEMP TABLE,
    with PRIMARY KEY (key).
    """
    qualified = drop_temp_table(conn, name)
    if key:
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE {name} ({columns}, PRIMARY KEY ({key})) WITHOUT ROWID"
        )
    else:
        conn.exec_driver_sql(f"CREATE TEMP TABLE {name} ({columns})")
    return qualified


def drop_temp_table(conn: Connection, name: str) -> str:
    """Drop temp table `name` if this connection has one; return its qualified name."""
    qualified = temp_name(name)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {qualified}")
    return qualified


@contextmanager
def temp_table(conn: Connection, name: str, columns: str) -> Iterator[str]:
    """A temp table with these column definitions for the block; yields its qualified name.

    The table lives on this connection only and is dropped after the block (and before it,
    should an earlier block have left one behind).
    """
    qualified = create_temp_table(conn, name, columns)
    try:
        yield qualified
    finally:
        drop_temp_table(conn, name)


@contextmanager
def id_table(conn: Connection, name: str, ids: Iterable[int]) -> Iterator[str]:
    """A temp table (`id INTEGER PRIMARY KEY`) of the ids, each once; yields its name."""
    with temp_table(conn, name, "id INTEGER PRIMARY KEY") as table:
        insert_ignoring_duplicates(conn, table, ("id",), [(i,) for i in ids])
        yield table


@contextmanager
def id_scope(conn: Connection, name: str, ids: Iterable[int] | None) -> Iterator[str | None]:
    """`id_table` for a query limited to these ids; None (no limit) yields None and no table."""
    if ids is None:
        yield None
        return
    with id_table(conn, name, ids) as table:
        yield table


@contextmanager
def key_table(conn: Connection, name: str, keys: Iterable[str], *, column: str) -> Iterator[str]:
    """A temp table of text keys (`<column> TEXT PRIMARY KEY`), each once; yields its name."""
    with temp_table(conn, name, f"{column} TEXT PRIMARY KEY") as table:
        insert_ignoring_duplicates(conn, table, (column,), [(key,) for key in keys])
        yield table


def insert_ignoring_duplicates(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert the rows, skipping any whose key the table already holds.

    PostgreSQL: the driver's `%s` placeholders (see `insert_ignoring_sql`).
    """
    if not rows:
        return
    placeholders = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(
        insert_ignoring_sql(table, columns, f"VALUES ({placeholders})"), list(rows)
    )
