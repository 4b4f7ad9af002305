"""'Why' from the record and 'why not X' by re-running the tool, on real, decided win-backs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlmodel import col, func, select

from agents.service import Baton
from agents.why.comparison import CAN_COMPARE
from db.engine import read_session
from db.models import Action, ActionRevision, AuditEvent, Decision
from tests.support.flow import action_for, approve
from tests.support.home import TODAY, WINBACK
from tests.support.record import record_text, unsourced

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EMAIL_ONLY = (
    "Win back customers who haven't bought in 90 days, $2,000, email only, start December 1"
)


@dataclass(frozen=True)
class Plans:
    edited: str
    """The first win-back: its send hour was edited to 09:00 before approval."""
    latest: str
    """The second: proposed after the edit, so the learned send hour is applied."""


def _decide_all(baton: Baton, plan_id: str, edits: dict[str, dict[str, Any]]) -> None:
    for _ in range(10):
        pending = [a for a in baton.list_actions(plan_id=plan_id) if a.status == "proposed"]
        if not pending:
            return
        for action in pending:
            approve(baton, action, changes=edits.get(action.tool))
    raise AssertionError("the plan kept proposing actions")


@pytest.fixture
def plans(baton: Baton) -> Plans:
    first = baton.plan_brief(WINBACK, actor="admin", today=TODAY).plan_id
    _decide_all(baton, first, {"schedule_send": {"send_hour_local": 9}})
    edited = action_for(baton, first, "schedule_send")
    assert edited.revision == 2, "the demo data already picks 09:00: nothing was edited"
    second = baton.plan_brief(WINBACK, actor="admin", today=TODAY).plan_id
    _decide_all(baton, second, {})
    return Plans(edited=first, latest=second)


# --- which action, which parameter -----------------------------------------------------------


def test_a_question_finds_the_action_and_the_parameter(baton: Baton, plans: Plans) -> None:
    schedule = action_for(baton, plans.latest, "schedule_send")
    budget = action_for(baton, plans.latest, "allocate_budget")
    day = WEEKDAYS[schedule.params["send_weekday"]]
    expected = {
        f"why {day.capitalize()}?": ("schedule_send", "send_weekday"),
        "why 9am?": ("schedule_send", "send_hour_local"),
        "Why is the budget 1,400?": ("allocate_budget", "allocations"),
        "why so much on SMS?": ("allocate_budget", "allocations.sms"),
        "why 90 days?": ("build_segment", "min_days_since_purchase"),
        "why this subject?": ("draft_copy", "subject"),
        "why this audience?": ("build_segment", None),
    }
    for question, (tool, param) in expected.items():
        # No plan named: the latest plan is meant.
        answer = baton.explain(question=question)
        assert answer.action.plan_id == plans.latest, question
        assert answer.action.tool == tool, question
        assert (answer.focus.param if answer.focus else None) == param, question
    sms = baton.explain(question="why so much on SMS?").focus
    assert sms is not None and sms.value == budget.params["allocations"]["sms"]
    weekday = baton.explain(question=f"why {day}?").focus
    assert weekday is not None and weekday.value == schedule.params["send_weekday"]
    assert f"**Send day: {day.capitalize()}" in baton.explain(question=f"why {day}?").to_markdown()

    # A card's button names its action exactly: the question only picks the parameter.
    segment = action_for(baton, plans.edited, "build_segment")
    pinned = baton.explain(action_id=segment.action_id, question=f"why {day}?")
    assert pinned.action.action_id == segment.action_id and pinned.focus is None
    older = baton.explain(question="why 9am?", plan_id=plans.edited)
    assert older.action.plan_id == plans.edited
    assert older.focus is not None and older.focus.value == 9
    text = older.to_markdown()
    assert "**Send hour: 09:00" in text and "edited by admin" in text


def test_why_leave_out_a_channel_answers_from_the_channel_evidence(baton: Baton) -> None:
    plan = baton.plan_brief(EMAIL_ONLY, actor="admin", today=TODAY).plan_id
    _decide_all(baton, plan, {})
    answer = baton.explain(question="why did you leave out SMS?", plan_id=plan)
    focus = answer.focus
    assert focus is not None and focus.excluded_channel == "sms" and not focus.channel_included
    # The budget is the first place a channel is left out: it names the channels it pays for.
    assert (answer.action.tool, focus.param) == ("allocate_budget", "allocations")
    assert "sms" not in focus.value
    brief = next(f for f in focus.evidence if f.source == "plan")
    assert brief.value == ["email"]
    assert answer.to_markdown().splitlines()[2].startswith("**sms is not in this step's")


def test_why_leave_out_sms_when_the_plan_sends_sms_elsewhere(baton: Baton, plans: Plans) -> None:
    answer = baton.explain(question="Why did you leave out SMS?")
    focus = answer.focus
    assert focus is not None and focus.excluded_channel == "sms"
    # The send time is computed for email alone; the answer shows where SMS stands instead.
    assert answer.action.tool == "schedule_send" and focus.value == "email"
    segment = action_for(baton, plans.latest, "build_segment")
    reach = next(f for f in focus.evidence if f.label == "reachable by (sms)")
    assert reach.value == segment.evidence["by_channel"]["sms"]
    assert reach.source == segment.action_id


# --- every number comes from the record ------------------------------------------------------


def test_every_number_in_an_answer_is_in_the_record(baton: Baton, plans: Plans) -> None:
    questions = [
        "why this send time?",
        "why 9am?",
        "why is the budget 1,400?",
        "why so much on SMS?",
        "why did you leave out SMS?",
        "why 90 days?",
        "why this subject?",
        "why this audience?",
        "why launch now?",
        "why this compliance check?",
    ]
    seen_lessons = False
    for plan_id in (plans.latest, plans.edited):
        for question in questions:
            answer = baton.explain(question=question, plan_id=plan_id)
            text = answer.to_markdown()
            missing = unsourced(text, record_text(baton, answer))
            assert not missing, f"{question!r}: {missing} are not in the record:\n{text}"
            seen_lessons |= bool(answer.action.lessons_applied) and "lesson " in text
    assert seen_lessons, "the second plan applies the learned send hour and says so"
    # The checker does catch a number that is not in the record.
    answer = baton.explain(question="why 90 days?", plan_id=plans.latest)
    assert unsourced(answer.to_markdown() + "\n- reach: 12,345", record_text(baton, answer)) == [
        "12,345"
    ]


# --- why not ---------------------------------------------------------------------------------


def _ledger(baton: Baton) -> tuple[Any, ...]:
    with read_session(baton.engine) as s:
        actions = [
            (a.id, a.status, a.revision, a.params_hash, json.dumps(a.evidence), a.updated_at)
            for a in s.exec(select(Action).order_by(col(Action.id)))
        ]
        counts = tuple(
            s.exec(select(func.count()).select_from(table)).one()
            for table in (ActionRevision, Decision, AuditEvent)
        )
    return tuple(actions), counts


def test_why_not_reruns_the_tool_and_compares_without_writing(baton: Baton, plans: Plans) -> None:
    before = _ledger(baton)
    schedule = action_for(baton, plans.latest, "schedule_send")
    sunday = baton.why_not(question="why not Sunday?")
    assert sunday.action_id == schedule.action_id and sunday.changes == {"send_weekday": 6}
    assert date.fromisoformat(sunday.alternative_params["send_date"]).weekday() == 6
    rate = next(r for r in sunday.rows if r.key == "chosen_slot_open_rate")
    recorded = schedule.evidence.get(
        "chosen_slot_open_rate", schedule.evidence["expected_open_rate"]
    )
    assert rate.chosen == recorded and isinstance(rate.alternative, float)
    table = sunday.to_markdown()
    assert "| --- | --- | --- |" in table and "alternative: Sunday" in table
    assert f"{rate.chosen:.1%}" in table and f"{rate.alternative:.1%}" in table

    late = baton.why_not(question="why not 11pm?")
    assert late.alternative_policy is not None and not late.alternative_policy.passed
    assert [c.rule for c in late.alternative_policy.failures] == ["quiet_hours"]
    assert "breaks quiet_hours" in late.to_markdown()

    budget = action_for(baton, plans.latest, "allocate_budget")
    sms = baton.why_not(question="why not put 800 on SMS?")
    assert sms.tool == "allocate_budget"
    allocations = sms.alternative_params["allocations"]
    assert allocations["sms"] == 800
    assert sum(allocations.values()) == pytest.approx(budget.params["budget"])
    conversions = next(r for r in sms.rows if r.key == "expected_conversions")
    assert conversions.chosen == budget.evidence["expected_conversions"]

    email = baton.why_not(question="why not only email?")
    assert email.tool == "allocate_budget"
    assert email.alternative_params["allocations"]["sms"] == 0

    segment = action_for(baton, plans.latest, "build_segment")
    sixty = baton.why_not(question="why not 60 days?")
    assert sixty.tool == "build_segment" and sixty.changes == {"min_days_since_purchase": 60}
    size = next(r for r in sixty.rows if r.key == "size")
    considered = next(a for a in segment.alternatives if a["option"] == "lapsed 60+ days")
    assert (size.chosen, size.alternative) == (segment.evidence["size"], considered["size"])

    day = WEEKDAYS[schedule.params["send_weekday"]]
    same = baton.why_not(question=f"why not {day}?")
    assert not same.rows and "already" in same.to_markdown()
    nonsense = baton.why_not(question="why not purple?")
    assert not nonsense.rows and nonsense.to_markdown() == CAN_COMPARE
    assert _ledger(baton) == before, "a why-not must not change anything"

    waiting = baton.plan_brief(WINBACK, actor="admin", today=TODAY).plan_id
    early = baton.why_not(question="why not Sunday?", plan_id=waiting)
    assert not early.rows and "not proposed yet" in early.to_markdown()
