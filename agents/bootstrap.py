"""First run: the data directory, its database, policy, auth secret, admin login and demo data."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import select

from agents.accounts import generate_password, set_user
from agents.policy import load_policy
from db.engine import make_engine, read_session, write_session
from db.models import Meta, User
from db.schema import migrate

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from db.settings import Settings
    from workspace.demo import DemoStats

DEMO_CONTACTS = 20_000
DEMO_SEED = 7


@dataclass(frozen=True)
class FirstRun:
    """What a command should tell the person once: a new admin password, fresh demo data."""

    admin_password: str | None = None
    demo: DemoStats | None = None


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def auth_secret(settings: Settings) -> str:
    """The Chainlit session-signing secret, generated once and kept in the data directory."""
    path = settings.home / "auth_secret"
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


def initialise(
    settings: Settings,
    *,
    engine: Engine | None = None,
    today: date | None = None,
    demo_contacts: int = DEMO_CONTACTS,
) -> tuple[Engine, FirstRun]:
    """Make the data directory usable; safe to call on every start."""
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = engine or make_engine(settings.db_url)
    migrate(engine)
    load_policy(settings.policy_path)
    auth_secret(settings)
    password: str | None = None
    now = datetime.now(UTC)
    # Every start reads; only a first run takes the write lock (and checks again under it).
    if not _has_users(engine):
        with write_session(engine) as session:
            if session.exec(select(User.id).limit(1)).first() is None:
                password = generate_password()
                set_user(
                    session, name="admin", role="admin", password=password, actor="setup", now=now
                )
    demo = None
    if _workspace_empty(engine):
        from workspace.demo import generate_demo_workspace
        from workspace.rollups import refresh_rollups

        with write_session(engine) as session:
            demo = generate_demo_workspace(
                session, contacts=demo_contacts, seed=DEMO_SEED, today=today or now.date()
            )
            # Build the derived tables now, not on the first card's tool call.
            refresh_rollups(session)
    return engine, FirstRun(admin_password=password, demo=demo)


def _workspace_empty(engine: Engine) -> bool:
    """Whether no workspace was ever generated or imported here (nor filled some other way)."""
    with read_session(engine) as session:
        if session.get(Meta, "workspace_source") is not None:
            return False
        # Imported here: a workspace Baton filled (the usual start) never needs these tables.
        from db.workspace_models import Contact

        return session.exec(select(Contact.id).limit(1)).first() is None


def _has_users(engine: Engine) -> bool:
    with read_session(engine) as session:
        return session.exec(select(User.id).limit(1)).first() is not None
