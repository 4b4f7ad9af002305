"""Schema migrations: a list of named functions, each recorded once in `meta`."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from db.models import Meta

Migration = Callable[[Engine], None]


def _initial(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)


MIGRATIONS: list[tuple[str, Migration]] = [
    ("0001_initial", _initial),
]


def migrate(engine: Engine) -> list[str]:
    """Apply the migrations not yet recorded; return the names applied."""
    SQLModel.metadata.create_all(engine, tables=[Meta.__table__])  # type: ignore[attr-defined]
    with Session(engine) as session:
        done = set(session.exec(select(Meta.key).where(col(Meta.key).startswith("migration:"))))
    applied: list[str] = []
    for name, apply in MIGRATIONS:
        if f"migration:{name}" in done:
            continue
        apply(engine)
        with Session(engine) as session:
            session.add(Meta(key=f"migration:{name}", value="applied"))
            session.commit()
        applied.append(name)
    return applied
