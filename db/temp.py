"""Temporary tables: how tools hand a large set of ids or keys to SQL (not an IN list)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection


@contextmanager
def temp_table(conn: Connection, name: str, columns: str) -> Iterator[str]:
    """A temp table with these column definitions for the block; yields its qualified name.

    The table lives on this connection only and is dropped after the block (and before it,
    should an earlier block have left one behind). PostgreSQL: the same CREATE TEMP TABLE,
    qualified as `pg_temp.<name>`.
    """
    qualified = f"temp.{name}"
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {qualified}")
    conn.exec_driver_sql(f"CREATE TEMP TABLE {name} ({columns})")
    try:
        yield qualified
    finally:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {qualified}")


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

    SQLite: INSERT OR IGNORE. PostgreSQL: INSERT ... ON CONFLICT DO NOTHING (with the
    driver's `%s` placeholders).
    """
    if not rows:
        return
    placeholders = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(
        f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
        list(rows),
    )
