"""The whole loop through the service API, for every playbook, over a real demo workspace."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from agents.lifecycle import DecisionError
from agents.service import Baton
from agents.why.explain import evidence_facts
from db.engine import read_session
from db.execution_models import Delivery
from db.models import Decision
from tests.support.briefs import BRIEFS
from tests.support.flow import action_for, approve, approve_all_pending
from tests.support.home import TODAY, WINBACK


@pytest.mark.parametrize("playbook", sorted(BRIEFS))
def test_every_playbook_runs_to_completion_once_approved(baton: Baton, playbook: str) -> None:
    plan = baton.plan_brief(BRIEFS[playbook], actor="admin", today=TODAY)
    assert plan.goal["playbook"] == playbook
    approve_all_pending(baton, plan.plan_id)
    actions = baton.list_actions(plan_id=plan.plan_id)
    assert len(actions) == len(plan.steps), "every step got an action"
    failures = [(a.tool, a.error) for a in actions if a.status != "succeeded"]
    assert failures == []
    for action in actions:
        assert action.result is not None
        assert action.rationale


def test_a_performance_report_runs_without_asking(baton: Baton) -> None:
    plan = baton.plan_brief(BRIEFS["performance_report"], actor="admin", today=TODAY)
    actions = [s.action for s in plan.steps]
    assert all(a is not None and a.risk == "read" and a.status == "succeeded" for a in actions)
    kpis = next(a for a in actions if a is not None and a.tool == "kpi_summary")
    assert kpis.result is not None
    email = next(r for r in kpis.result["rows"] if r["channel"] == "email")
    assert email["sends"] > 0 and 0 < email["open_rate"] < 1
    with read_session(baton.engine) as s:
        verdicts = {d.verdict for d in s.exec(select(Decision))}
    assert verdicts == {"auto_approve"}


def test_budget_review_reallocates_what_is_left_within_bands(baton: Baton) -> None:
    plan = baton.plan_brief(BRIEFS["budget_review"], actor="admin", today=TODAY)
    pacing = action_for(baton, plan.plan_id, "budget_pacing")
    assert pacing.status == "succeeded" and pacing.result is not None
    assert pacing.result["status"] in ("under", "on_track", "over")
    reallocate = action_for(baton, plan.plan_id, "allocate_budget")
    assert reallocate.status == "proposed" and reallocate.requires_approval
    allocations = reallocate.params["allocations"]
    remaining = pacing.result["budget"] - pacing.result["spent"]
    assert sum(allocations.values()) == pytest.approx(remaining, abs=0.01)
    policy = baton.policy()
    for channel, amount in allocations.items():
        low, high = policy.band(channel)
        assert low - 1e-6 <= amount / sum(allocations.values()) <= high + 1e-6


def test_the_launch_waits_and_writes_only_to_the_outbox(baton: Baton) -> None:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    for tool in ("build_segment", "draft_copy", "schedule_send", "allocate_budget"):
        approve(baton, action_for(baton, plan.plan_id, tool))
    compliance = action_for(baton, plan.plan_id, "check_campaign")
    assert compliance.status == "succeeded" and compliance.result is not None
    assert compliance.result["passed"] is True
    launch = action_for(baton, plan.plan_id, "launch_campaign")
    assert launch.status == "proposed" and launch.requires_approval and launch.risk == "external"
    with read_session(baton.engine) as s:
        assert s.exec(select(func.count()).select_from(Delivery)).one() == 0
    done = approve(baton, launch)
    segment = action_for(baton, plan.plan_id, "build_segment").result
    assert done.result is not None and segment is not None
    assert done.result["by_channel"] == segment["by_channel"]
    with read_session(baton.engine) as s:
        rows = s.exec(select(Delivery)).all()
    assert len(rows) == sum(segment["by_channel"].values())
    assert {r.connector for r in rows} == {"shadow"} and {r.status for r in rows} == {"shadow"}


def test_why_answers_from_the_record_with_its_numbers(baton: Baton) -> None:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    segment = approve(baton, action_for(baton, plan.plan_id, "build_segment"))
    explanation = baton.explain(question="why this audience?", plan_id=plan.plan_id)
    assert explanation.action.action_id == segment.action_id
    text = explanation.to_markdown()
    assert f"{segment.evidence['size']:,}" in text
    for reason, count in segment.evidence["suppressed"].items():
        assert f"{reason} {count:,}" in text
    assert "approved by admin" in text
    # Every fact shown comes from the stored evidence.
    assert {f.label for f in evidence_facts(segment.evidence)} <= {
        k.replace("_", " ") for k in segment.evidence
    }
    schedule = action_for(baton, plan.plan_id, "schedule_send")
    day = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"][
        schedule.params["send_weekday"]
    ]
    assert (
        baton.explain(question=f"why {day}?", plan_id=plan.plan_id).action.tool == "schedule_send"
    )


def test_feedback_is_stored_and_updated_per_message(baton: Baton) -> None:
    baton.record_feedback(
        actor="admin", value=0, comment="too long", message_id="m1", thread_id="t1"
    )
    baton.record_feedback(actor="admin", value=1, comment="better", message_id="m1", thread_id="t1")
    rows = baton.feedback()
    assert [(r.value, r.comment) for r in rows] == [(1, "better")]


def test_content_review_blocks_copy_until_it_is_fixed(baton: Baton) -> None:
    plan = baton.plan_brief(
        'Review this copy: "Guaranteed to keep you dry, act now!"', actor="admin", today=TODAY
    )
    copy = action_for(baton, plan.plan_id, "draft_copy")
    assert "Guaranteed to keep you dry" in copy.params["body"]
    failed = {c.rule for c in copy.policy_checks if not c.passed}
    assert failed == {"banned_phrases", "unsubscribe_link", "required_disclaimers"}
    with pytest.raises(DecisionError) as refused:
        approve(baton, copy)
    assert refused.value.code == "policy" and "act now" in str(refused.value)
    fixed = approve(
        baton,
        copy,
        changes={
            "body": "Built to keep you dry on every trail.\n\nYou are receiving this because you "
            "opted in to Northwind updates.\nUnsubscribe: {{unsubscribe_url}}"
        },
    )
    assert fixed.status == "succeeded" and fixed.revision == 2
    compliance = action_for(baton, plan.plan_id, "check_campaign")
    assert compliance.result is not None and compliance.result["passed"] is True


def test_research_brings_the_notes_that_match_the_brief(baton: Baton) -> None:
    plan = baton.plan_brief(
        "Launch our new rain shell collection to active customers by email next week",
        actor="admin",
        today=TODAY,
    )
    trends = action_for(baton, plan.plan_id, "period_trends")
    assert trends.result is not None
    titles = [n["title"] for n in trends.result["notes"]]
    assert titles and titles[0] == "Holiday plan notes"  # the only note about rain shells
