"""The kill switch: while it is engaged nothing is approved or executed.

Engaging it cancels every approved action whose execution has not started; releasing it
lets decisions go on. Both are audited. The approval path reads it with the plan's state
(`db/plan_state.py`).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from agents.lifecycle import Actor, cancel
from db.audit import append_audit
from db.models import Action, Meta
from db.plan_state import KILL_SWITCH_KEY


def kill_switch_on(session: Session) -> bool:
    """Whether the kill switch is engaged."""
    row = session.get(Meta, KILL_SWITCH_KEY)
    return row is not None and row.value == "on"


def set_kill_switch(session: Session, *, on: bool, actor: Actor, now: datetime) -> int:
    """Engage or release the kill switch; engaging cancels approved actions not yet started.

    Returns how many actions it cancelled.
    """
    session.merge(Meta(key=KILL_SWITCH_KEY, value="on" if on else "off"))
    append_audit(
        session,
        at=now,
        actor=actor.name,
        kind="kill_switch." + ("engaged" if on else "released"),
        entity="workspace",
        entity_id="",
    )
    if not on:
        return 0
    cancelled = 0
    for action in session.exec(select(Action).where(Action.status == "approved")):
        cancel(session, action, actor=actor, reason="kill switch engaged", now=now)
        cancelled += 1
    return cancelled
