"""Builders for small, hand-made workspaces on a real SQLite file (used by the tool tests).

Write through `workspace_writer`: like Baton's own writers it bumps the workspace
version, so the rollups the tools read are rebuilt.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.engine import make_engine, write_session
from db.models import Action, Plan, Step
from db.schema import migrate
from db.workspace import touch_workspace
from db.workspace_models import Contact, Event, Spend

TODAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

_serial = itertools.count(1)


def new_engine(tmp_path: Path) -> Engine:
    """A fresh, migrated SQLite database in the test's temp folder."""
    engine = make_engine(f"sqlite:///{tmp_path / 'workspace.db'}")
    migrate(engine)
    return engine


@contextmanager
def workspace_writer(engine: Engine) -> Iterator[Session]:
    """A write session that bumps the workspace version before it commits."""
    with write_session(engine) as session:
        yield session
        touch_workspace(session)


def add_contact(session: Session, **fields: Any) -> int:
    """Insert a contact (email consent on, created a year ago unless told) and return its id."""
    values: dict[str, Any] = {
        "email": f"person{next(_serial)}@example.com",
        "created_at": datetime(2025, 11, 1, tzinfo=UTC),
        "email_consent": True,
        "region": "Americas",
        "timezone": "America/New_York",
    }
    values.update(fields)
    contact = Contact(**values)
    session.add(contact)
    session.flush()
    assert contact.id is not None
    return contact.id


def add_event(
    session: Session,
    contact_id: int,
    event: str,
    at: datetime,
    *,
    channel: str = "email",
    campaign: str = "c1",
    revenue: float = 0.0,
) -> None:
    session.add(
        Event(
            contact_id=contact_id,
            channel=channel,
            event=event,
            campaign=campaign,
            occurred_at=at,
            revenue=revenue,
        )
    )


def add_spend(session: Session, day: date, channel: str, amount: float) -> None:
    session.add(Spend(date=day, channel=channel, campaign=f"{channel}-test", spend=amount))


def add_action(session: Session, action_id: str = "act-1") -> str:
    """A plan, step and action row, so outbox rows have an action to point at."""
    plan_id, step_id = f"plan-{action_id}", f"step-{action_id}"
    session.add(
        Plan(
            id=plan_id,
            brief="test",
            planner="offline",
            today=TODAY,
            created_by="test",
            created_at=NOW,
        )
    )
    session.flush()
    session.add(
        Step(
            id=step_id,
            plan_id=plan_id,
            position=1,
            key="launch",
            agent="distribution",
            kind="launch",
            title="Launch",
        )
    )
    session.flush()
    session.add(
        Action(
            id=action_id,
            plan_id=plan_id,
            step_id=step_id,
            agent="distribution",
            tool="launch",
            title="Launch",
            params_hash="0" * 64,
            risk="external",
            created_at=NOW,
            updated_at=NOW,
        )
    )
    session.flush()
    return action_id
