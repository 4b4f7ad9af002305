"""Bulk loading: many rows written through the driver itself, inside the caller's transaction.

The demo workspace and the CSV import write hundreds of thousands of rows. Handing
them to the driver's executemany, past SQLAlchemy's per-row work, with a larger page
cache while they go in and the secondary indexes built once afterwards, is several
times faster than row-by-row inserts. SQLite: the sqlite3 connection under the session,
`?` placeholders and PRAGMA cache_size. PostgreSQL: psycopg's COPY (`cursor.copy`)
instead of executemany, and `SET LOCAL maintenance_work_mem` for the index builds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeAlias

from sqlalchemy.engine import Connection

DriverConnection: TypeAlias = Any
"""The DB-API connection under a SQLAlchemy one (a sqlite3.Connection), or a cursor of it."""


def driver_connection(conn: Connection) -> DriverConnection:
    """The driver's own connection under `conn`, in the same transaction."""
    return conn.connection.driver_connection


@contextmanager
def page_cache(driver: DriverConnection, kib: int) -> Iterator[None]:
    """SQLite's page cache for this connection at `kib` KiB for the block, then as it was.

    PostgreSQL's buffer cache is the server's (shared_buffers): nothing to set per session.
    """
    previous = driver.execute("PRAGMA main.cache_size").fetchone()[0]
    driver.execute(f"PRAGMA main.cache_size = -{kib}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA main.cache_size = {previous}")


def insert_sql(table: str, columns: Sequence[str]) -> str:
    """The INSERT statement for one row of these columns, in the driver's placeholders."""
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


class RowWriter:
    """Inserts batches of rows through one driver cursor."""

    def __init__(self, cursor: DriverConnection) -> None:
        self._cursor = cursor
        self._statements: dict[tuple[str, tuple[str, ...]], str] = {}

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Insert the rows, each a sequence of values in `columns` order."""
        key = (table, tuple(columns))
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = insert_sql(table, columns)
        self._cursor.executemany(statement, rows)


@contextmanager
def row_writer(conn: Connection, *, cache_kib: int) -> Iterator[RowWriter]:
    """A `RowWriter` on the driver connection under `conn`, with a `page_cache` of cache_kib."""
    cursor = driver_connection(conn).cursor()
    try:
        with page_cache(cursor, cache_kib):
            yield RowWriter(cursor)
    finally:
        cursor.close()


@contextmanager
def indexes_deferred(conn: Connection, tables: Sequence[str]) -> Iterator[None]:
    """Drop the tables' own indexes for the block, and build them again after it.

    Only indexes with a CREATE statement of their own go; those behind PRIMARY KEY and
    UNIQUE constraints stay (SQLite cannot drop them). Should the block raise, the indexes
    are not rebuilt here: DDL is transactional in SQLite, so the caller's rollback brings
    them back with the rows. PostgreSQL: the same, reading `pg_indexes.indexdef` and
    leaving out the indexes of constraints.
    """
    rows = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({', '.join('?' for _ in tables)}) ORDER BY name",
        tuple(tables),
    ).all()
    for name, _ in rows:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for _, statement in rows:
        conn.exec_driver_sql(statement)
