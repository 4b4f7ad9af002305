"""A temporary table of contact ids: how tools pass a large audience to SQL (not an IN list)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection


@contextmanager
def id_table(conn: Connection, name: str, ids: list[int] | None) -> Iterator[str | None]:
    """Load ids into a temp table for the duration of the block; None means every contact."""
    if ids is None:
        yield None
        return
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
    conn.exec_driver_sql(f"CREATE TEMP TABLE {name} (id INTEGER PRIMARY KEY)")
    try:
        if ids:
            conn.exec_driver_sql(
                f"INSERT OR IGNORE INTO temp.{name} (id) VALUES (?)", [(i,) for i in ids]
            )
        yield f"temp.{name}"
    finally:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
