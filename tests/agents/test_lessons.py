"""Memory: an edit teaches a lesson, the next similar plan applies it, forgetting undoes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.decision import DecisionRequest
from agents.lifecycle import DecisionError
from agents.service import Baton
from tests.support.cli import run
from tests.support.flow import action_for, approve
from tests.support.home import TODAY, WINBACK


def _schedule_of_new_plan(baton: Baton) -> tuple[str, dict]:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    approve(baton, action_for(baton, plan.plan_id, "build_segment"))
    schedule = action_for(baton, plan.plan_id, "schedule_send")
    return schedule.action_id, schedule.model_dump()


def _edit_hour(baton: Baton, action_id: str, hour: int) -> None:
    current = baton.get_action(action_id)
    baton.decide(
        DecisionRequest(action_id=action_id, revision=current.revision, verdict="edit",
                        changes={"send_hour_local": hour}),
        actor="admin",
    )  # fmt: skip


def test_an_edit_is_learned_applied_named_and_forgettable(baton: Baton) -> None:
    first_id, first = _schedule_of_new_plan(baton)
    default_hour = first["params"]["send_hour_local"]
    learned_hour = 9 if default_hour != 9 else 11
    assert first["lessons_applied"] == []
    _edit_hour(baton, first_id, learned_hour)

    [lesson] = baton.list_lessons()
    assert lesson.tool == "schedule_send" and lesson.value == learned_hour
    assert f"{learned_hour:02d}:00" in lesson.statement and "admin" in lesson.statement

    _, second = _schedule_of_new_plan(baton)
    assert second["params"]["send_hour_local"] == learned_hour
    assert second["lessons_applied"] == [
        {"lesson_id": lesson.lesson_id, "statement": lesson.statement}
    ]
    assert lesson.statement in second["rationale"]

    baton.forget_lesson(lesson.lesson_id, actor="admin")
    _, third = _schedule_of_new_plan(baton)
    assert third["params"]["send_hour_local"] == default_hour
    assert third["lessons_applied"] == []
    with pytest.raises(DecisionError):
        baton.forget_lesson(lesson.lesson_id, actor="admin")


def test_a_newer_edit_supersedes_the_older_lesson(baton: Baton) -> None:
    first_id, _ = _schedule_of_new_plan(baton)
    _edit_hour(baton, first_id, 9)
    second_id, _ = _schedule_of_new_plan(baton)
    _edit_hour(baton, second_id, 11)
    active = baton.list_lessons()
    assert [(x.value, x.active) for x in active] == [(9, False), (11, True)]
    assert active[0].superseded_by == active[1].lesson_id
    _, third = _schedule_of_new_plan(baton)
    assert third["params"]["send_hour_local"] == 11


def test_lessons_from_the_command_line(home: Path) -> None:
    plan = json.loads(run(home, "plan", "--json", "--today", TODAY.isoformat(), WINBACK).stdout)
    segment = next(s["action"] for s in plan["steps"] if s["agent"] == "audience")
    run(home, "approve", segment["action_id"], "--revision", "1",
        "--set", "min_days_since_purchase=120")  # fmt: skip
    listed = json.loads(run(home, "lessons", "--json").stdout)
    assert [x["param"] for x in listed] == ["min_days_since_purchase"]
    assert "120+ days" in run(home, "lessons").stdout
    forgot = run(home, "lessons", "forget", str(listed[0]["lesson_id"]))
    assert forgot.returncode == 0 and "Forgot lesson" in forgot.stdout
    assert json.loads(run(home, "lessons", "--json").stdout) == []
    missing = run(home, "lessons", "forget", "999")
    assert missing.returncode == 2 and "no active lesson 999" in missing.stderr
