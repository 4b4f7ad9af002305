"""Lessons: what a person's edits taught, applied to later proposals of the same kind.

An edit of a learnable parameter becomes a lesson scoped to the tool, the parameter and
the playbook it was made in. A newer lesson on the same scope supersedes the older one
(which stays in history); forgetting a lesson stops it from being applied.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select

from db.audit import append_audit
from db.models import Lesson

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
LEARNABLE: dict[str, tuple[str, ...]] = {
    "schedule_send": ("send_weekday", "send_hour_local"),
    "build_segment": ("min_days_since_purchase", "frequency_cap"),
}
"""Parameters whose edited value is a preference worth reusing (not one-off content)."""


class LessonView(BaseModel):
    lesson_id: int
    statement: str
    tool: str
    param: str
    value: Any
    playbook: str | None
    actor: str
    learned_at: str
    active: bool
    superseded_by: int | None
    decision_ids: list[int]


def _statement(param: str, value: Any, *, actor: str, at: datetime) -> str:
    if param == "send_weekday" and isinstance(value, int):
        what = f"send on {WEEKDAYS[value]}"
    elif param == "send_hour_local" and isinstance(value, int):
        what = f"send at {value:02d}:00 local time"
    elif param == "min_days_since_purchase":
        what = f"lapsed means no purchase for {value}+ days"
    elif param == "frequency_cap":
        what = f"at most {value} sends per contact in 7 days"
    else:
        what = f"{param} = {value}"
    return f"{what}, learned from {actor}'s edit on {at.date().isoformat()}"


def learn_from_edit(
    session: Session,
    *,
    agent: str,
    tool: str,
    playbook: str,
    changes: dict[str, list[Any]],
    decision_id: int,
    actor: str,
    now: datetime,
) -> list[Lesson]:
    """Turn the learnable parameters of an edit into lessons, superseding older ones."""
    learned: list[Lesson] = []
    for param in LEARNABLE.get(tool, ()):
        if param not in changes:
            continue
        value = changes[param][1]
        lesson = Lesson(
            agent=agent,
            tool=tool,
            param=param,
            value=value,
            statement=_statement(param, value, actor=actor, at=now),
            playbook=playbook,
            decision_ids=[decision_id],
            actor=actor,
            created_at=now,
        )
        session.add(lesson)
        session.flush()
        for older in _active(session, tool=tool, playbook=playbook, param=param):
            if older.id != lesson.id:
                older.superseded_by = lesson.id
                session.add(older)
        append_audit(
            session,
            at=now,
            actor=actor,
            kind="lesson.learned",
            entity="lesson",
            entity_id=str(lesson.id),
            data={"tool": tool, "param": param, "value": value, "decision_id": decision_id},
        )
        learned.append(lesson)
    return learned


def _active(
    session: Session, *, tool: str, playbook: str, param: str | None = None
) -> list[Lesson]:
    query = select(Lesson).where(
        Lesson.tool == tool,
        Lesson.playbook == playbook,
        col(Lesson.deleted_at).is_(None),
        col(Lesson.superseded_by).is_(None),
    )
    if param is not None:
        query = query.where(Lesson.param == param)
    return list(session.exec(query.order_by(col(Lesson.id))))


def lessons_for(session: Session, *, tool: str, playbook: str) -> list[Lesson]:
    """The active lessons a new proposal of this tool in this kind of plan must apply."""
    return _active(session, tool=tool, playbook=playbook)


def list_lessons(session: Session, *, include_inactive: bool = False) -> list[LessonView]:
    query = select(Lesson).order_by(col(Lesson.id))
    if not include_inactive:
        query = query.where(col(Lesson.deleted_at).is_(None))
    return [
        LessonView(
            lesson_id=lesson.id or 0,
            statement=lesson.statement,
            tool=lesson.tool,
            param=lesson.param,
            value=lesson.value,
            playbook=lesson.playbook,
            actor=lesson.actor,
            learned_at=lesson.created_at.isoformat(),
            active=lesson.superseded_by is None and lesson.deleted_at is None,
            superseded_by=lesson.superseded_by,
            decision_ids=lesson.decision_ids,
        )
        for lesson in session.exec(query)
    ]


def forget(session: Session, lesson_id: int, *, actor: str, now: datetime) -> Lesson | None:
    """Stop applying a lesson; it stays in history. None when there is no such lesson."""
    lesson = session.get(Lesson, lesson_id)
    if lesson is None or lesson.deleted_at is not None:
        return None
    lesson.deleted_at = now
    session.add(lesson)
    append_audit(
        session,
        at=now,
        actor=actor,
        kind="lesson.forgotten",
        entity="lesson",
        entity_id=str(lesson_id),
        data={"statement": lesson.statement},
    )
    return lesson
