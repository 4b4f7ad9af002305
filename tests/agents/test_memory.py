"""Memory: immutable decision records, rule versions, feedback search, indexed retrieval."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from agents import orchestrator
from agents.gate import run_gate
from agents.memory.lessons import lessons_for
from agents.policy import Policy, default_policy_text, parse_policy
from agents.service import Baton
from db.engine import read_session
from tests.support.flow import action_for, approve
from tests.support.home import TODAY, WINBACK
from tools.compliance import ContentRules

GATED_PARAMS: dict[str, Any] = {
    "budget": 1000.0,
    "currency": "USD",
    "allocations": {"email": 700.0, "sms": 300.0},
    "send_hour_local": 10,
    "frequency_cap": 2,
    "subject": "Come back for 10% off",
    "body": "We miss you. {{unsubscribe_url}}",
    "sms_text": "We miss you: 10% off. Reply STOP to opt out.",
}


def _db(baton: Baton) -> Path:
    return baton.settings.home / "baton.db"


@contextmanager
def _raw(baton: Baton) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection, as someone bypassing Baton would use."""
    with closing(sqlite3.connect(_db(baton))) as conn:
        yield conn


# --- immutability ----------------------------------------------------------------------


def test_an_approved_actions_record_is_immutable_but_it_still_runs(baton: Baton) -> None:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    segment = action_for(baton, plan.plan_id, "build_segment")
    policy = baton.policy()
    orchestrator.approve(
        baton.engine,
        action_id=segment.action_id,
        revision=1,
        actor=baton.actor("admin"),
        policy=policy,
    )
    with _raw(baton) as conn:
        for change in (
            "params = '{}'",
            "params_hash = 'x'",
            "rationale = 'rewritten'",
            "policy_checks = '[]'",
            "lessons_applied = '[{\"lesson_id\": 1}]'",
            "record = '{}'",
            "revision = 7",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="decision record is immutable"):
                conn.execute(f"UPDATE action SET {change} WHERE id = ?", (segment.action_id,))
        with pytest.raises(sqlite3.DatabaseError, match="stays decided"):
            conn.execute("UPDATE action SET status = 'proposed' WHERE id = ?", (segment.action_id,))
        with pytest.raises(sqlite3.DatabaseError, match="decision record is immutable"):
            conn.execute("DELETE FROM action WHERE id = ?", (segment.action_id,))

    done = orchestrator.execute(baton.engine, segment.action_id, policy)
    assert done.status == "succeeded" and done.result
    after = baton.get_action(segment.action_id)
    assert after.params == segment.params and after.policy_checks == segment.policy_checks


def test_a_proposed_action_can_still_be_edited_and_history_is_append_only(baton: Baton) -> None:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    segment = action_for(baton, plan.plan_id, "build_segment")
    edited = approve(baton, segment, changes={"min_days_since_purchase": 120})
    assert edited.revision == 2 and edited.status == "succeeded"
    with _raw(baton) as conn:
        for statement in (
            "UPDATE decision SET actor = 'mallory'",
            "DELETE FROM decision",
            "UPDATE actionrevision SET params = '{}'",
            "DELETE FROM actionrevision",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(statement)


# --- rule versions ----------------------------------------------------------------------


def _versions(policy: Policy) -> dict[str, str | None]:
    content = policy.content
    gate = run_gate(
        policy,
        kind="allocate_budget",
        risk="external",
        params=GATED_PARAMS,
        evidence={},
        today=TODAY,
        channels=["email", "sms"],
        content=ContentRules(
            banned_phrases=content.banned_phrases,
            required_disclaimers=content.required_disclaimers,
            require_unsubscribe=content.require_unsubscribe,
            legal_review_topics=content.legal_review_topics,
        ),
    )
    return {c.rule: c.rule_version for c in gate.checks}


def test_changing_one_rule_changes_only_that_rules_version() -> None:
    text = default_policy_text()
    base = _versions(parse_policy(text))
    assert {"budget_cap", "channel_band:sms", "quiet_hours", "banned_phrases"} <= base.keys()
    assert all(v and len(v) == 12 for v in base.values())
    assert base == _versions(parse_policy(text + "\n# a comment changes nothing\n"))

    edits = {
        "channel_band:sms": ("sms = [0.0, 0.5]", "sms = [0.0, 0.4]"),
        "quiet_hours": ("start = 21", "start = 22"),
        "frequency_cap": ("max_sends_per_7_days = 3", "max_sends_per_7_days = 4"),
        "banned_phrases": ('"miracle", ', ""),
    }
    for rule, (old, new) in edits.items():
        assert text.count(old) == 1
        changed = _versions(parse_policy(text.replace(old, new)))
        assert changed[rule] != base[rule], rule
        assert {k: v for k, v in changed.items() if k != rule} == {
            k: v for k, v in base.items() if k != rule
        }, rule


def test_stored_checks_carry_rule_versions(baton: Baton) -> None:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    segment = action_for(baton, plan.plan_id, "build_segment")
    assert segment.policy_checks
    assert all(c.rule_version for c in segment.policy_checks)
    explained = baton.explain(action_id=segment.action_id)
    first = segment.policy_checks[0]
    assert explained.action.policy_checks[0].rule_version == first.rule_version
    assert f"{first.rule}: {first.detail} (rule version {first.rule_version})" in (
        explained.to_markdown()
    )


# --- feedback search --------------------------------------------------------------------


def test_feedback_is_searchable_and_hostile_queries_are_harmless(baton: Baton) -> None:
    comments = {
        "m1": "SMS is too expensive for this audience",
        "m2": "Subject line feels pushy",
        "m3": "Great timing, the email went out on Tuesday morning",
        "m4": "Too many SMS messages this week",
    }
    for message_id, comment in comments.items():
        baton.record_feedback(actor="admin", value=-1, comment=comment, message_id=message_id)

    hits = baton.search_feedback("sms too expensive")
    assert [h.message_id for h in hits][:2] == ["m1", "m4"]
    assert "**expensive**" in hits[0].excerpt and hits[0].value == -1
    assert [h.message_id for h in baton.search_feedback("messages")] == ["m4"], "porter stems"

    for hostile in ('"sms OR" AND (', "NEAR(sms", "comment:sms*", "^", '"', "", "   "):
        found = baton.search_feedback(hostile)
        assert all(h.message_id in comments for h in found)
    assert {h.message_id for h in baton.search_feedback('"sms OR" AND (')} == {"m1", "m4"}

    # Re-rating a message replaces its comment; the index follows.
    baton.record_feedback(actor="admin", value=1, comment="Lovely copy", message_id="m2")
    assert baton.search_feedback("pushy") == []
    assert [h.message_id for h in baton.search_feedback("lovely")] == ["m2"]
    with pytest.raises(ValueError):
        baton.search_feedback("sms", limit=0)


# --- indexes ----------------------------------------------------------------------------


def _plans_of(baton: Baton, run: Callable[[], object]) -> list[tuple[str, list[str]]]:
    """Each SQL statement `run` issues, with SQLite's query plan for it."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    event.listen(baton.engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(baton.engine, "before_cursor_execute", capture)
    with _raw(baton) as conn:
        return [
            (sql, [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)])
            for sql, params in captured
        ]


def _unindexed_scans(plans: list[tuple[str, list[str]]]) -> list[str]:
    return [
        f"{detail} <- {sql}"
        for sql, details in plans
        for detail in details
        if detail.startswith("SCAN") and "INDEX" not in detail
    ]


def test_lessons_and_why_are_served_by_indexes(baton: Baton) -> None:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    segment = action_for(baton, plan.plan_id, "build_segment")
    approve(baton, segment)

    def lessons() -> None:
        with read_session(baton.engine) as session:
            lessons_for(session, tool="schedule_send", playbook="winback")

    lesson_plans = _plans_of(baton, lessons)
    assert any("ix_lesson_scope_active" in d for _, details in lesson_plans for d in details)
    assert _unindexed_scans(lesson_plans) == []

    for why in (
        lambda: baton.explain(action_id=segment.action_id),
        lambda: baton.explain(question="why this audience?"),
    ):
        plans = _plans_of(baton, why)
        assert plans and _unindexed_scans(plans) == []


def test_relevance_is_ranked_over_recent_matches_but_rare_words_reach_back(
    baton: Baton, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tools.feedback.RANK_WINDOW", 2)
    baton.record_feedback(actor="admin", value=-1, comment="email prices feel expensive")
    for n in range(4):
        baton.record_feedback(actor="admin", value=1, comment=f"email number {n} was fine")
    assert len(baton.search_feedback("email")) == 2, "ranked within the newest two matches"
    [old] = baton.search_feedback("expensive")
    assert old.comment == "email prices feel expensive"
