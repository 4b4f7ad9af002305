"""Lessons beyond "param = value": constraints learned from rejections, comments and edits."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect
from sqlmodel import Session, select

from agents.decision import DecisionOutcome, DecisionRequest
from agents.memory.reasons import rules_from_reason
from agents.memory.rules import Rule, bend, contradicts, describe
from agents.service import Baton
from agents.views import ActionView
from db.models import Decision
from db.schema import _earned_autonomy
from tests.support.cli import run
from tests.support.flow import action_for, approve
from tests.support.home import TODAY, WINBACK

PROPOSED_SPLIT = {"email": 1582.7, "sms": 417.3}


def _new_plan(baton: Baton) -> str:
    """A winback plan with its segment approved, so schedule and budget are proposed."""
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    approve(baton, action_for(baton, plan.plan_id, "build_segment"))
    return plan.plan_id


def _decide(baton: Baton, action: ActionView, verdict: str, **fields: Any) -> DecisionOutcome:
    request = DecisionRequest(
        action_id=action.action_id, revision=action.revision, verdict=verdict, **fields
    )
    return baton.decide(request, actor="admin")


def _share(action: ActionView, channel: str) -> float:
    allocations = action.params["allocations"]
    return float(allocations[channel]) / sum(allocations.values())


@pytest.mark.parametrize(
    ("reason", "tool", "expected"),
    [
        ("No sends on Sunday", "schedule_send", "no sends on Sunday"),
        ("no weekend sends please", "schedule_send", "no weekend sends"),
        ("not before 9am", "schedule_send", "no sends before 09:00 local time"),
        ("too early", "schedule_send", "no sends before 09:00 local time"),
        ("no SMS", "allocate_budget", "no SMS budget"),
        ("too much on SMS", "allocate_budget", "SMS share of budget <= 15%"),
        ("keep SMS under 20%", "allocate_budget", "SMS share of budget <= 20%"),
        (
            "90 days is too recent, use 120",
            "build_segment",
            "lapsed means no purchase for 120+ days",
        ),
        ("no SMS in this audience", "build_segment", "no SMS in the audience"),
    ],
)
def test_clear_reasons_become_rules(reason: str, tool: str, expected: str) -> None:
    params = {
        "send_weekday": 1,
        "send_hour_local": 8,
        "allocations": PROPOSED_SPLIT,
        "min_days_since_purchase": 90,
        "channels": ["email", "sms"],
    }
    relevant = {
        "schedule_send": ("send_weekday", "send_hour_local"),
        "allocate_budget": ("allocations",),
        "build_segment": ("min_days_since_purchase", "channels"),
    }[tool]
    rules = rules_from_reason(reason, tool=tool, params={k: params[k] for k in relevant})
    assert [describe(r) for r in rules] == [expected]


@pytest.mark.parametrize(
    "reason",
    ["I don't like the tone", "use 20% more budget", "not before 15 nov", "after 120 days"],
)
def test_unclear_reasons_teach_nothing(reason: str) -> None:
    params = {"send_hour_local": 10, "allocations": PROPOSED_SPLIT, "min_days_since_purchase": 90}
    assert rules_from_reason(reason, tool="build_segment", params=params) == []


def test_constraints_bend_the_fewest_parameters() -> None:
    no_tuesday = Rule(tool="schedule_send", param="send_weekday", kind="exclude", value=[1])
    evidence = {"alternatives": [{"weekday": 3, "hour": 9}, {"weekday": 4, "hour": 10}]}
    bent = bend([no_tuesday], {"send_weekday": 1, "send_hour_local": 10}, evidence, bands={})
    assert bent.params == {"send_weekday": 4, "send_hour_local": 10}, "kept the hour"
    assert bent.changed == {"send_weekday"} and bent.met == [0]

    cap = Rule(
        tool="allocate_budget",
        param="allocations",
        kind="max_share",
        value={"channel": "sms", "share": 0.1},
    )
    split = {"email": 600.0, "sms": 300.0, "push": 100.0}
    bent = bend([cap], {"allocations": split}, {}, bands={"push": (0.0, 0.3)})
    assert bent.params["allocations"] == {"email": 771.43, "sms": 100.0, "push": 128.57}
    assert sum(bent.params["allocations"].values()) == pytest.approx(1000.0)

    impossible = Rule(
        tool="allocate_budget",
        param="allocations",
        kind="min_share",
        value={"channel": "sms", "share": 0.9},
    )
    bent = bend([impossible], {"allocations": split}, {}, bands={"sms": (0.0, 0.5)})
    assert bent.unmet == [0] and bent.changed == set(), "policy bands win over lessons"


def test_contradicting_rules_supersede_and_exclusions_accumulate() -> None:
    def rule(param: str, kind: str, value: object) -> Rule:
        return Rule(tool="schedule_send", param=param, kind=kind, value=value)

    assert contradicts(rule("send_weekday", "exclude", [6]), rule("send_weekday", "set", 6))
    assert not contradicts(rule("send_weekday", "exclude", [6]), rule("send_weekday", "set", 1))
    assert not contradicts(
        rule("send_weekday", "exclude", [5]), rule("send_weekday", "exclude", [6])
    )
    assert contradicts(rule("send_hour_local", "min", 10), rule("send_hour_local", "min", 9))
    assert contradicts(rule("send_hour_local", "min", 12), rule("send_hour_local", "max", 11))
    assert contradicts(rule("send_hour_local", "set", 8), rule("send_hour_local", "min", 9))


def test_a_rejection_teaches_supersedes_applies_and_forgetting_restores(baton: Baton) -> None:
    first = action_for(baton, _new_plan(baton), "schedule_send")
    _decide(baton, first, "edit", changes={"send_weekday": 6})
    sunday = action_for(baton, _new_plan(baton), "schedule_send")
    assert sunday.params["send_weekday"] == 6, "the edit was learned"

    outcome = _decide(baton, sunday, "reject", reason="No sends on Sunday, please.")
    assert outcome.lesson == "no sends on Sunday"
    older, newer = baton.list_lessons(include_inactive=True)
    assert older.statement.startswith("send on Sunday, learned from admin's edit on ")
    assert not older.active and older.superseded_by == newer.lesson_id, "superseded, kept"
    assert newer.rule == "exclude" and newer.value == [6]
    assert newer.statement.startswith("no sends on Sunday, learned from admin's rejection on ")
    with Session(baton.engine) as session:
        decision = session.get(Decision, newer.decision_ids[0])
        assert decision is not None and decision.verdict == "reject"
        assert decision.action_id == sunday.action_id

    later = action_for(baton, _new_plan(baton), "schedule_send")
    assert later.params["send_weekday"] != 6
    assert date.fromisoformat(later.params["send_date"]).weekday() == later.params["send_weekday"]
    assert later.lessons_applied == [{"lesson_id": newer.lesson_id, "statement": newer.statement}]
    assert newer.statement in later.rationale

    restored = baton.forget_lesson(newer.lesson_id, actor="admin")
    assert f"lesson {older.lesson_id} applies again" in restored
    again = action_for(baton, _new_plan(baton), "schedule_send")
    assert again.params["send_weekday"] == 6
    assert [x["lesson_id"] for x in again.lessons_applied] == [older.lesson_id]


def test_an_unclear_rejection_is_kept_and_teaches_nothing(baton: Baton) -> None:
    schedule = action_for(baton, _new_plan(baton), "schedule_send")
    outcome = _decide(baton, schedule, "reject", reason="Not this one, the timing feels off")
    assert outcome.lesson is None
    assert baton.list_lessons() == []
    assert baton.get_action(schedule.action_id).decisions[-1].reason.startswith("Not this one")


def test_a_thumbs_down_comment_on_a_budget_caps_the_next_split(baton: Baton) -> None:
    budget = action_for(baton, _new_plan(baton), "allocate_budget")
    assert _share(budget, "sms") > 0.15
    learned = baton.record_feedback(
        actor="admin", value=-1, comment="Keep SMS under 15%", action_id=budget.action_id
    )
    assert learned == "SMS share of budget <= 15%"
    [lesson] = baton.list_lessons()
    [feedback] = baton.feedback()
    assert lesson.feedback_ids == [feedback.id] and lesson.decision_ids == []
    assert "learned from admin's comment on" in lesson.statement
    assert (
        baton.record_feedback(
            actor="admin", value=1, comment="keep SMS under 5%", action_id=budget.action_id
        )
        is None
    ), "only thumbs-down teaches"

    later = action_for(baton, _new_plan(baton), "allocate_budget")
    assert _share(later, "sms") <= 0.15 + 1e-9
    assert sum(later.params["allocations"].values()) == pytest.approx(2000.0)
    assert later.params["budget"] == 2000.0
    assert later.lessons_applied == [{"lesson_id": lesson.lesson_id, "statement": lesson.statement}]
    assert all(c.passed for c in later.policy_checks), "the gate re-checked the bent split"


def test_an_allocation_edit_learns_a_share_and_a_newer_cap_supersedes(baton: Baton) -> None:
    budget = action_for(baton, _new_plan(baton), "allocate_budget")
    outcome = _decide(baton, budget, "edit", changes={"allocations": {"email": 1700, "sms": 300}})
    assert outcome.lesson == "SMS share of budget <= 15%"
    [lesson] = baton.list_lessons()
    assert lesson.rule == "max_share" and lesson.value == {"channel": "sms", "share": 0.15}
    assert "learned from admin's edit on" in lesson.statement

    later = action_for(baton, _new_plan(baton), "allocate_budget")
    assert later.params["allocations"] == {"email": 1700.0, "sms": 300.0}

    _decide(baton, later, "reject", reason="too much on SMS")
    old, new = baton.list_lessons(include_inactive=True)
    assert old.superseded_by == new.lesson_id and new.value["share"] == 0.1
    latest = action_for(baton, _new_plan(baton), "allocate_budget")
    assert latest.params["allocations"] == {"email": 1800.0, "sms": 200.0}


def test_rejections_teach_from_the_command_line(home: Path) -> None:
    import json

    plan = json.loads(run(home, "plan", "--json", "--today", TODAY.isoformat(), WINBACK).stdout)
    segment = next(s["action"] for s in plan["steps"] if s["agent"] == "audience")
    rejected = run(
        home, "reject", segment["action_id"], "--reason", "90 days is too recent, use 120"
    )
    assert rejected.returncode == 0, rejected.stderr
    assert "Learned: lapsed means no purchase for 120+ days." in rejected.stdout
    assert "rejection" in run(home, "lessons").stdout


def test_the_migration_adds_lesson_columns_to_an_old_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE lesson (id INTEGER PRIMARY KEY, agent VARCHAR NOT NULL, tool VARCHAR "
            "NOT NULL, param VARCHAR NOT NULL, value JSON, statement VARCHAR NOT NULL, playbook "
            "VARCHAR, decision_ids JSON NOT NULL, actor VARCHAR NOT NULL, created_at DATETIME "
            "NOT NULL, superseded_by INTEGER, deleted_at DATETIME)"
        )
        conn.execute(
            "INSERT INTO lesson VALUES (1, 'channel', 'schedule_send', 'send_hour_local', '9', "
            "'send at 09:00', 'winback', '[3]', 'admin', '2026-11-01 00:00:00', NULL, NULL)"
        )
    engine = create_engine(f"sqlite:///{path}")
    _earned_autonomy(engine)
    _earned_autonomy(engine)  # safe to run twice
    columns = {c["name"] for c in inspect(engine).get_columns("lesson")}
    assert {"rule", "feedback_ids"} <= columns
    assert "autonomygrant" in inspect(engine).get_table_names()
    from db.memory_models import Lesson

    with Session(engine) as session:
        [old] = session.exec(select(Lesson)).all()
        assert old.rule == "set" and old.feedback_ids == [] and old.decision_ids == [3]
    engine.dispose()
