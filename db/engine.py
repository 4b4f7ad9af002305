"""The SQLAlchemy engine: SQLite tuned for a durable ledger, and session helpers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, create_engine

BUSY_TIMEOUT_MS = 10_000


def make_engine(url: str) -> Engine:
    """Create an engine; for SQLite set WAL, FULL sync, foreign keys and a busy timeout."""
    is_sqlite = url.startswith("sqlite")
    connect_args: dict[str, Any] = {"check_same_thread": False} if is_sqlite else {}
    engine = create_engine(url, connect_args=connect_args, pool_pre_ping=not is_sqlite)
    if is_sqlite:
        _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below, so that a
        # write session can say BEGIN IMMEDIATE (pysqlite would emit a deferred BEGIN).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One read-then-write transaction that holds SQLite's write lock from its first statement.

    A deferred transaction that reads and then writes can fail with SQLITE_BUSY when
    another writer committed in between; BEGIN IMMEDIATE waits for the lock instead.
    Commits on success, rolls back on any exception.
    """
    with Session(_immediate(engine), expire_on_commit=False) as session, session.begin():
        yield session


_IMMEDIATE = "_baton_immediate"
"""Engine attribute: the engine's BEGIN IMMEDIATE view, made once (each one made costs
about as much as an empty transaction, and its events join the engine's anew)."""


def _immediate(engine: Engine) -> Engine:
    immediate: Engine | None = getattr(engine, _IMMEDIATE, None)
    if immediate is None:
        immediate = engine.execution_options(sqlite_begin="IMMEDIATE")
        setattr(engine, _IMMEDIATE, immediate)
    return immediate


def core_connection(session: Session) -> Connection:
    """The session's connection for a Core statement (plain rows, no ORM bookkeeping), after
    the autoflush an ORM query would do, so the statement sees the transaction's changes."""
    if session.autoflush:
        session.flush()
    return session.connection()


def holds_write_lock(conn: Connection) -> bool:
    """Whether the connection's transaction began in `write_session` (holding the write lock).

    PostgreSQL locks rows, not the database: a write session there would be marked by an
    execution option of its own.
    """
    return conn.get_execution_options().get("sqlite_begin") == "IMMEDIATE"


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reads; WAL lets it run beside the one writer."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
