"""Feedback: the marketers' thumbs up/down and comments, kept one per person and message."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from agents.memory import lessons
from db.audit import append_audit
from db.memory_models import Feedback


def record_feedback(
    session: Session,
    *,
    actor: str,
    value: int,
    comment: str,
    message_id: str | None,
    thread_id: str | None,
    action_id: str | None,
    now: datetime,
) -> str | None:
    """Keep a thumbs up/down (a second one on the same message replaces the first); a
    thumbs-down comment on an action may teach a lesson.

    Returns what it taught ("SMS share of budget <= 20%"), or None.
    """
    existing = (
        session.exec(
            select(Feedback).where(Feedback.message_id == message_id, Feedback.actor == actor)
        ).first()
        if message_id
        else None
    )
    row = existing or Feedback(
        actor=actor,
        value=value,
        message_id=message_id,
        thread_id=thread_id,
        action_id=action_id,
        created_at=now,
    )
    row.value, row.comment = (1 if value > 0 else -1), comment.strip()[:2000]
    session.add(row)
    append_audit(
        session,
        at=now,
        actor=actor,
        kind="feedback.recorded",
        entity="feedback",
        entity_id=message_id or action_id or "",
        data={"value": row.value, "comment": row.comment},
    )
    session.flush()
    taught = lessons.learn_from_feedback(session, row, now=now)
    return "; ".join(lessons.rule_text(x) for x in taught) or None


def list_feedback(session: Session) -> list[Feedback]:
    """Every feedback row, oldest first."""
    return list(session.exec(select(Feedback).order_by(col(Feedback.id))))
