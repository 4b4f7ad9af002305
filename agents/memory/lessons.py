"""Lessons: what a person's edits, rejections and comments taught, applied to later proposals.

A lesson is a rule (agents/lesson_rules.py) on one tool's parameter, scoped to the kind
of plan (playbook) it was learned in, with links to the decisions and feedback that
taught it. A newer lesson that contradicts an older one supersedes it (the older stays in
history); the same lesson taught again gains the new link; forgetting stops applying it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from agents.memory.reasons import rules_from_reason
from agents.memory.rules import Rule, bend, contradicts, describe, rules_from_edit
from agents.planning.goal import Goal
from agents.policy import Policy
from agents.specialists.registry import skill_for
from db.audit import append_audit
from db.memory_models import Feedback, Lesson
from db.models import Action, Decision, Plan
from db.rows import persistent_rows, select_rows

Source = Literal["edit", "rejection", "comment"]


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
    rule: str = "set"
    """set, exclude, min, max, max_share or min_share."""
    feedback_ids: list[int] = Field(default_factory=list)


def rule_of(lesson: Lesson) -> Rule:
    return Rule(tool=lesson.tool, param=lesson.param, kind=lesson.rule, value=lesson.value)


def rule_text(lesson: Lesson) -> str:
    """The lesson without its provenance ("no sends on Sunday")."""
    return describe(rule_of(lesson))


def _statement(rule: Rule, *, source: Source, actor: str, at: datetime) -> str:
    return f"{describe(rule)}, learned from {actor}'s {source} on {at.date().isoformat()}"


def learn(
    session: Session,
    rules: Iterable[Rule],
    *,
    playbook: str,
    source: Source,
    actor: str,
    now: datetime,
    decision_id: int | None = None,
    feedback_id: int | None = None,
) -> list[Lesson]:
    """Store each rule as a lesson linked to what taught it, superseding what it contradicts."""
    learned: list[Lesson] = []
    for rule in rules:
        active = _active(session, tool=rule.tool, playbook=playbook, param=rule.param)
        same = next((x for x in active if rule_of(x) == rule), None)
        if same is not None:
            learned.append(_reinforce(session, same, decision_id, feedback_id, actor, now))
            continue
        lesson = Lesson(
            agent=skill_for(rule.tool).agent,
            tool=rule.tool,
            param=rule.param,
            rule=rule.kind,
            value=rule.value,
            statement=_statement(rule, source=source, actor=actor, at=now),
            playbook=playbook,
            decision_ids=[decision_id] if decision_id is not None else [],
            feedback_ids=[feedback_id] if feedback_id is not None else [],
            actor=actor,
            created_at=now,
        )
        session.add(lesson)
        session.flush()
        superseded = [x for x in active if contradicts(rule, rule_of(x))]
        for older in superseded:
            older.superseded_by = lesson.id
            session.add(older)
        append_audit(
            session,
            at=now,
            actor=actor,
            kind="lesson.learned",
            entity="lesson",
            entity_id=str(lesson.id),
            data={
                "tool": rule.tool,
                "param": rule.param,
                "rule": rule.kind,
                "value": rule.value,
                "source": source,
                "decision_id": decision_id,
                "feedback_id": feedback_id,
                "supersedes": [x.id for x in superseded],
            },
        )
        learned.append(lesson)
    return learned


def _reinforce(
    session: Session,
    lesson: Lesson,
    decision_id: int | None,
    feedback_id: int | None,
    actor: str,
    now: datetime,
) -> Lesson:
    if decision_id is not None and decision_id not in lesson.decision_ids:
        lesson.decision_ids = [*lesson.decision_ids, decision_id]
    if feedback_id is not None and feedback_id not in lesson.feedback_ids:
        lesson.feedback_ids = [*lesson.feedback_ids, feedback_id]
    session.add(lesson)
    append_audit(
        session,
        at=now,
        actor=actor,
        kind="lesson.reinforced",
        entity="lesson",
        entity_id=str(lesson.id),
        data={"decision_id": decision_id, "feedback_id": feedback_id},
    )
    return lesson


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
    """Turn an edit ({param: [before, after]}) into lessons, superseding older ones."""
    return learn(
        session,
        rules_from_edit(tool, changes),
        playbook=playbook,
        source="edit",
        actor=actor,
        now=now,
        decision_id=decision_id,
    )


def learn_from_reason(
    session: Session,
    *,
    text: str,
    tool: str,
    params: dict[str, Any],
    playbook: str,
    source: Source,
    actor: str,
    now: datetime,
    decision_id: int | None = None,
    feedback_id: int | None = None,
) -> list[Lesson]:
    """Learn what a rejection reason or a thumbs-down comment on an action says clearly.

    A reason no pattern reads teaches nothing (it stays on its decision or feedback row).
    """
    return learn(
        session,
        rules_from_reason(text, tool=tool, params=params),
        playbook=playbook,
        source=source,
        actor=actor,
        now=now,
        decision_id=decision_id,
        feedback_id=feedback_id,
    )


def learn_from_feedback(session: Session, feedback: Feedback, *, now: datetime) -> list[Lesson]:
    """A thumbs-down with a comment on an action teaches like a rejection reason does."""
    if feedback.value >= 0 or not feedback.comment or not feedback.action_id:
        return []
    action = session.get(Action, feedback.action_id)
    plan = session.get(Plan, action.plan_id) if action is not None else None
    if action is None or plan is None or feedback.id is None:
        return []
    return learn_from_reason(
        session,
        text=feedback.comment,
        tool=action.tool,
        params=action.params,
        playbook=Goal.model_validate(plan.goal).playbook,
        source="comment",
        actor=feedback.actor,
        now=now,
        feedback_id=feedback.id,
    )


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


_FOR_PROPOSAL = (
    select_rows(Lesson)
    .where(
        col(Lesson.tool) == bindparam("tool"),
        col(Lesson.playbook) == bindparam("playbook"),
        col(Lesson.deleted_at).is_(None),
        col(Lesson.superseded_by).is_(None),
    )
    .order_by(col(Lesson.id))
)
"""`_active` without a parameter, built once: every proposal reads it."""


def lessons_for(session: Session, *, tool: str, playbook: str) -> list[Lesson]:
    """The active lessons a new proposal of this tool in this kind of plan must apply."""
    return persistent_rows(session, Lesson, _FOR_PROPOSAL, {"tool": tool, "playbook": playbook})


@dataclass
class Applied:
    """A proposal after its lessons: parameters, what changed, which lessons hold."""

    params: dict[str, Any]
    changed: set[str]
    applied: list[Lesson]
    unmet: list[Lesson]


def apply_lessons(
    found: list[Lesson], params: dict[str, Any], evidence: dict[str, Any], *, policy: Policy
) -> Applied:
    """Bend proposed parameters until every lesson holds (as far as policy bands allow)."""
    relevant = [x for x in found if x.param in params]
    bent = bend(
        [rule_of(x) for x in relevant],
        params,
        evidence,
        bands={c: policy.band(c) for c in params.get("allocations") or {}},
    )
    return Applied(
        params=bent.params,
        changed=bent.changed,
        applied=[relevant[i] for i in bent.met],
        unmet=[relevant[i] for i in bent.unmet],
    )


def learned_from(
    session: Session, *, decision_ids: Iterable[int] = (), feedback_id: int | None = None
) -> list[Lesson]:
    """The lessons these decisions or this feedback taught (or taught again)."""
    wanted = set(decision_ids)
    return [
        x
        for x in session.exec(select(Lesson).order_by(col(Lesson.id)))
        if wanted & set(x.decision_ids)
        or (feedback_id is not None and feedback_id in x.feedback_ids)
    ]


def taught_by(session: Session, *, action_id: str, from_revision: int) -> list[Lesson]:
    """The lessons the edits and rejection of this action, from this revision on, taught."""
    ids = session.exec(
        select(Decision.id).where(
            Decision.action_id == action_id,
            Decision.revision >= from_revision,
            col(Decision.verdict).in_(("edit", "reject")),
        )
    )
    return learned_from(session, decision_ids=[i for i in ids if i is not None])


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
            rule=lesson.rule,
            feedback_ids=lesson.feedback_ids,
        )
        for lesson in session.exec(query)
    ]


def forget(
    session: Session, lesson_id: int, *, actor: str, now: datetime
) -> tuple[Lesson, list[Lesson]] | None:
    """Stop applying a lesson; it stays in history. None when there is no such lesson.

    Forgetting undoes: the lessons it had superseded apply again (returned second).
    """
    lesson = session.get(Lesson, lesson_id)
    if lesson is None or lesson.deleted_at is not None:
        return None
    lesson.deleted_at = now
    session.add(lesson)
    reinstated = list(
        session.exec(
            select(Lesson).where(
                Lesson.superseded_by == lesson_id, col(Lesson.deleted_at).is_(None)
            )
        )
    )
    for older in reinstated:
        older.superseded_by = None
        session.add(older)
    append_audit(
        session,
        at=now,
        actor=actor,
        kind="lesson.forgotten",
        entity="lesson",
        entity_id=str(lesson_id),
        data={"statement": lesson.statement, "reinstated": [x.id for x in reinstated]},
    )
    return lesson, reinstated
