"""The send step on a real win-back: the UTC send plan and channel mix on its card, in its
result and in "why"; and the typed results of the budget, KPI, pacing and compliance steps."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import select

from agents.service import Baton
from agents.specialists.channel import ScheduleResult
from agents.specialists.registry import skill_for
from agents.views import ActionView
from app.cards import card_props
from db.engine import read_session
from db.workspace_models import Contact, SegmentMember
from tests.support.flow import action_for, approve, approve_all_pending
from tests.support.home import TODAY, WINBACK
from tests.support.record import record_text, unsourced


def _rows(rows: list[dict[str, str]]) -> dict[str, str]:
    return {r["label"]: r["value"] for r in rows}


def _expected_waves(baton: Baton, segment: ActionView, schedule: ActionView) -> Counter[str]:
    """Contacts per UTC send time, worked out here from each member's own time zone."""
    day = datetime.fromisoformat(schedule.params["send_date"]).date()
    hour = time(schedule.params["send_hour_local"])
    with read_session(baton.engine) as s:
        zones = s.exec(
            select(Contact.timezone)
            .join(SegmentMember, SegmentMember.contact_id == Contact.id)  # type: ignore[arg-type]
            .where(SegmentMember.action_id == segment.action_id)
        ).all()
    return Counter(
        f"{datetime.combine(day, hour, tzinfo=ZoneInfo(z)).astimezone(UTC):%Y-%m-%d %H:%M}"
        for z in zones
    )


def test_the_send_card_shows_when_the_segment_gets_it_in_utc(baton: Baton) -> None:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    segment = approve(baton, action_for(baton, plan.plan_id, "build_segment"))
    schedule = action_for(baton, plan.plan_id, "schedule_send")
    evidence = schedule.evidence

    waves = _expected_waves(baton, segment, schedule)
    assert evidence["contacts_by_send_time_utc"] == dict(sorted(waves.items()))
    assert sum(waves.values()) == segment.evidence["size"] == evidence["contacts_scheduled"]
    assert (evidence["first_send_utc"], evidence["last_send_utc"]) == (min(waves), max(waves))
    # The proposed hour is outside the policy's quiet hours, so nobody is moved.
    assert (evidence["quiet_hours"], evidence["contacts_in_quiet_hours"]) == ("21:00-08:00", 0)
    # Email and SMS: the channel mix counts the same reach as the segment.
    assert evidence["channel_reach"] == segment.evidence["by_channel"]
    assert set(evidence["channel_rate_basis"]) == {"email", "sms"}

    card = _rows(card_props(schedule, role="admin")["evidence"])
    assert card["First send (UTC)"] == min(waves) and card["Last send (UTC)"] == max(waves)
    assert card["Contacts per UTC send time"] == ", ".join(
        f"{t} {n:,}" for t, n in sorted(waves.items())
    )
    assert card["Moved out of quiet hours"] == "0"
    assert card["Channel mix"] == evidence["channel_mix"]
    assert card["Channel mix"].startswith("Lead with ")
    assert f"{segment.evidence['size']:,} contacts get the message at" in schedule.rationale


def test_the_result_records_the_send_plan_and_the_card_says_it(baton: Baton) -> None:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    segment = approve(baton, action_for(baton, plan.plan_id, "build_segment"))
    proposed = action_for(baton, plan.plan_id, "schedule_send")
    done = approve(baton, proposed)
    assert done.status == "succeeded" and done.result is not None

    result = ScheduleResult.model_validate(done.result)
    assert result.model_dump(mode="json") == done.result
    send_plan = result.send_plan
    assert send_plan is not None
    assert send_plan.contacts == segment.evidence["size"] and send_plan.missing == 0
    assert sum(w.contacts for w in send_plan.waves) == send_plan.contacts
    waves = _expected_waves(baton, segment, done)
    assert {f"{w.send_at_utc:%Y-%m-%d %H:%M}": w.contacts for w in send_plan.waves} == waves
    # Per time zone and per wave, never a row per contact.
    assert len(send_plan.groups) < send_plan.contacts
    assert {g.timezone for g in send_plan.groups} == {
        z for w in send_plan.waves for z in w.timezones
    }

    summary = card_props(done, role="admin")["result_summary"]
    assert summary == (
        f"Scheduled for {result.summary}: {send_plan.contacts:,} contacts from {min(waves)} to "
        f"{max(waves)} UTC, none moved out of quiet hours."
    )
    moved = {
        **done.result,
        "send_plan": {**done.result["send_plan"], "contacts_in_quiet_hours": 210},
    }
    summarise = skill_for("schedule_send").summarise
    assert summarise is not None and summarise(moved).endswith(", 210 moved out of quiet hours.")


def test_why_answers_about_utc_times_and_quiet_hours_from_the_record(baton: Baton) -> None:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    approve(baton, action_for(baton, plan.plan_id, "build_segment"))
    schedule = approve(baton, action_for(baton, plan.plan_id, "schedule_send"))
    evidence = schedule.evidence
    last = evidence["last_send_utc"][-5:]

    answer = baton.explain(question=f"why {last} UTC?", plan_id=plan.plan_id)
    assert answer.action.action_id == schedule.action_id
    assert answer.focus is not None and answer.focus.param == "send_hour_local"
    facts = {f.label: f.value for f in answer.focus.evidence}
    assert facts["first send (UTC)"] == evidence["first_send_utc"]
    assert facts["contacts per UTC send time"] == evidence["contacts_by_send_time_utc"]
    assert facts["expected open rate of the best slot"] == evidence["expected_open_rate"]

    quiet = baton.explain(question="how many are in quiet hours?", plan_id=plan.plan_id)
    assert quiet.action.action_id == schedule.action_id
    assert quiet.focus is not None and quiet.focus.param == "timezone_basis"
    facts = {f.label: f.value for f in quiet.focus.evidence}
    assert facts["moved out of quiet hours"] == 0
    assert facts["quiet hours (local, from the policy)"] == "21:00-08:00"
    assert "- moved out of quiet hours: 0" in quiet.to_markdown()

    mix = baton.explain(question="why this channel mix?", plan_id=plan.plan_id)
    assert mix.focus is not None and mix.focus.param == "channel"
    facts = {f.label: f.value for f in mix.focus.evidence}
    assert facts["reachable per channel"] == evidence["channel_reach"]
    assert facts["channel mix"] == evidence["channel_mix"]

    for answered in (answer, quiet, mix):
        text = answered.to_markdown()
        assert not unsourced(text, record_text(baton, answered)), text


def test_why_not_a_late_hour_shows_who_would_be_moved(baton: Baton) -> None:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    segment = approve(baton, action_for(baton, plan.plan_id, "build_segment"))
    approve(baton, action_for(baton, plan.plan_id, "schedule_send"))

    late = baton.why_not(question="why not 11pm?", plan_id=plan.plan_id)
    moved = next(r for r in late.rows if r.key == "contacts_in_quiet_hours")
    assert (moved.chosen, moved.alternative) == (0, segment.evidence["size"])
    first = next(r for r in late.rows if r.key == "first_send_utc")
    assert first.alternative is not None and first.alternative > first.chosen
    assert "moved out of quiet hours" in late.to_markdown()


def test_quiet_hours_come_from_the_policy(baton: Baton, home: Path) -> None:
    policy = home / "policy.toml"
    policy.write_text(
        policy.read_text().replace("start = 21\nend = 8", "start = 22\nend = 7"), encoding="utf-8"
    )
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    approve(baton, action_for(baton, plan.plan_id, "build_segment"))
    schedule = action_for(baton, plan.plan_id, "schedule_send")
    assert schedule.evidence["quiet_hours"] == "22:00-07:00"


def test_one_channel_plans_show_no_channel_mix(baton: Baton) -> None:
    brief = "Win back customers who haven't bought in 90 days, $2,000, email only, start December 1"
    plan = baton.plan_brief(brief, actor="admin", today=TODAY)
    approve(baton, action_for(baton, plan.plan_id, "build_segment"))
    evidence = action_for(baton, plan.plan_id, "schedule_send").evidence
    assert "contacts_by_send_time_utc" in evidence
    assert not any(key.startswith("channel_") for key in evidence)


LEGACY_KEYS = {
    "schedule_send": {"scheduled", "send_date", "send_weekday", "weekday_name",
                      "send_hour_local", "channel", "summary"},
    "allocate_budget": {"allocations", "budget", "currency", "committed"},
    "check_campaign": {"passed", "failed", "needs_legal_review", "checks"},
    "kpi_summary": {"start", "end", "rows", "totals"},
    "budget_pacing": {"budget", "currency", "start", "end", "today", "channels", "days_total",
                      "days_elapsed", "spent", "expected", "pace_ratio", "status", "by_channel",
                      "projected", "remaining", "detail"},
}  # fmt: skip
"""The result keys `baton actions --json` showed before the results were typed."""


def test_results_are_typed_and_keep_every_key(baton: Baton) -> None:
    briefs = (
        WINBACK,
        "Budget review: are we pacing on our $8,000 budget this month?",
        "How did our channels perform last month? Give me a KPI report.",
    )
    seen: set[str] = set()
    for brief in briefs:
        plan = baton.plan_brief(brief, actor="admin", today=TODAY)
        approve_all_pending(baton, plan.plan_id)
        for action in baton.list_actions(plan_id=plan.plan_id):
            if action.tool not in LEGACY_KEYS:
                continue
            model = skill_for(action.tool).result_model
            assert model is not None and action.result is not None, action.tool
            assert model.model_validate(action.result).model_dump(mode="json") == action.result
            assert LEGACY_KEYS[action.tool] <= action.result.keys(), action.tool
            seen.add(action.tool)
    assert seen == set(LEGACY_KEYS)
