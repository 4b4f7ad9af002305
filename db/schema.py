"""Schema migrations: a list of named functions, each recorded once in `meta`."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from db.dialect import run_sqlite_ddl
from db.memory import apply_memory_search
from db.models import Meta
from db.search import NOTE_FTS

Migration = Callable[[Engine], None]


def _initial(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)


def _consent_history_and_notes(engine: Engine) -> None:
    """Consent changes and notes (new tables), and full-text search over notes (SQLite FTS5)."""
    SQLModel.metadata.create_all(engine)
    with engine.begin() as conn:
        run_sqlite_ddl(conn, NOTE_FTS)


def _rollups(engine: Engine) -> None:
    """The rollup tables and their segment indexes (db/rollups.py)."""
    # Imported here: a start with nothing to migrate should not build the rollup tables' models.
    from db.rollups import create_rollup_tables

    create_rollup_tables(engine)


def _lessons(engine: Engine) -> None:
    """Lessons learned from decisions (a new table)."""
    SQLModel.metadata.create_all(engine)


def _llm_ledger(engine: Engine) -> None:
    """Model calls and plan revisions (new tables); plan notices; step versions (new columns)."""
    SQLModel.metadata.create_all(engine)
    added = {
        "step": {
            "added_in": "INTEGER NOT NULL DEFAULT 1",
            "superseded_in": "INTEGER",
        },
        "plan": {"notices": "JSON NOT NULL DEFAULT '[]'"},
    }
    with engine.begin() as conn:
        for table, columns in added.items():
            present = {c["name"] for c in inspect(conn).get_columns(table)}
            for name, ddl in columns.items():
                if name not in present:
                    conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}")


def _earned_autonomy(engine: Engine) -> None:
    """Autonomy grants (a new table); lesson rule kinds and teaching feedback (new columns)."""
    SQLModel.metadata.create_all(engine)
    added = {
        "rule": "VARCHAR NOT NULL DEFAULT 'set'",
        "feedback_ids": "JSON NOT NULL DEFAULT '[]'",
    }
    with engine.begin() as conn:
        present = {c["name"] for c in inspect(conn).get_columns("lesson")}
        for name, ddl in added.items():
            if name not in present:
                conn.exec_driver_sql(f"ALTER TABLE lesson ADD COLUMN {name} {ddl}")


def _action_editable(engine: Engine) -> None:
    """What an action let a person edit, stored when proposed (a new column; NULL on old rows)."""
    with engine.begin() as conn:
        if "editable" not in {c["name"] for c in inspect(conn).get_columns("action")}:
            conn.exec_driver_sql("ALTER TABLE action ADD COLUMN editable JSON")


MIGRATIONS: list[tuple[str, Migration]] = [
    ("0001_initial", _initial),
    ("0002_consent_history_and_notes", _consent_history_and_notes),
    ("0003_rollups", _rollups),
    ("0004_lessons", _lessons),
    ("0005_llm_ledger", _llm_ledger),
    ("0006_memory_search", apply_memory_search),
    ("0007_earned_autonomy", _earned_autonomy),
    ("0008_action_editable", _action_editable),
]


def _load_every_table() -> None:
    """Build every table's model, so that `create_all` in a migration sees every table."""
    # Imported here: a start with nothing to migrate builds only the models its command reads.
    import db.execution_models
    import db.memory_models
    import db.workspace_models  # noqa: F401


def migrate(engine: Engine) -> list[str]:
    """Apply the migrations not yet recorded; return the names applied."""
    SQLModel.metadata.create_all(engine, tables=[Meta.__table__])  # type: ignore[attr-defined]
    with Session(engine) as session:
        done = set(session.exec(select(Meta.key).where(col(Meta.key).startswith("migration:"))))
    pending = [(name, apply) for name, apply in MIGRATIONS if f"migration:{name}" not in done]
    if pending:
        _load_every_table()
    applied: list[str] = []
    for name, apply in pending:
        apply(engine)
        with Session(engine) as session:
            session.add(Meta(key=f"migration:{name}", value="applied"))
            session.commit()
        applied.append(name)
    return applied
