"""The segment card: who the recipients are (RFM tiers, churn risk) and reach, from one pass."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import event, func
from sqlmodel import select

from agents.service import Baton
from agents.specialists.audience import BuiltSegment
from agents.specialists.registry import skill_for
from app.cards import card_props
from db.engine import read_session
from db.workspace_models import SegmentMember
from tests.support.flow import action_for, approve, approve_all_pending
from tests.support.home import TODAY, WINBACK
from tools.audience import SegmentRules, build_segment, segment_contact_ids
from tools.churn import churn_risk
from tools.rfm import rfm_scores

NOW = datetime.combine(TODAY, time.min, tzinfo=UTC)
LEGACY_KEYS = {"description", "matched", "size", "suppressed", "by_channel"}
"""The result keys `baton actions --json` showed before the result was typed."""


def _rows(rows: list[dict[str, str]]) -> dict[str, str]:
    return {r["label"].lower(): r["value"] for r in rows}


def _counts(counts: dict[str, Any]) -> str:
    return ", ".join(f"{label} {n:,}" for label, n in counts.items())


def test_the_card_shows_tiers_churn_risk_and_reach_of_the_recipients(baton: Baton) -> None:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    segment = action_for(baton, plan.plan_id, "build_segment")
    evidence = segment.evidence
    rules = SegmentRules.model_validate(segment.params)
    with read_session(baton.engine) as session:
        members = segment_contact_ids(session, rules, now=NOW)
        rfm = rfm_scores(session, now=NOW, contact_ids=members).counts
        churn = churn_risk(session, now=NOW, contact_ids=members).bands
        windows = {
            days: build_segment(
                session, rules.model_copy(update={"min_days_since_purchase": days}), now=NOW
            ).size
            for days in (60, 120, 180)
        }

    assert evidence["size"] == len(members) > 0
    assert evidence["rfm_tiers"] == {label: n for label, n in rfm.items() if n}
    assert sum(evidence["rfm_tiers"].values()) == evidence["size"]
    assert evidence["churn_risk"] == {band: churn[band] for band in ("high", "medium", "low")}
    assert evidence["reach_share"] == {
        channel: round(n / evidence["size"], 4) for channel, n in evidence["by_channel"].items()
    }
    # The other recency windows come from the same pass, and agree with a segment each.
    assert {a["option"]: a["size"] for a in segment.alternatives} == {
        f"lapsed {days}+ days": size for days, size in windows.items()
    }

    rows = _rows(card_props(segment, role="admin")["evidence"])
    assert rows["rfm tiers"] == _counts(evidence["rfm_tiers"])
    assert rows["churn risk"] == _counts(evidence["churn_risk"])
    assert rows["reach by channel (share)"] == ", ".join(
        f"{channel} {share:.1%}" for channel, share in evidence["reach_share"].items()
    )
    high = evidence["churn_risk"]["high"]
    assert f"Of them: churn risk {high:,} high" in segment.rationale


def test_why_answers_who_the_recipients_are_and_how_many_are_at_risk(baton: Baton) -> None:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    approve_all_pending(baton, plan.plan_id)
    segment = action_for(baton, plan.plan_id, "build_segment")
    tiers, churn = segment.evidence["rfm_tiers"], segment.evidence["churn_risk"]

    people = baton.explain(question="why these people?", plan_id=plan.plan_id)
    assert people.action.action_id == segment.action_id
    text = people.to_markdown()
    assert f"- RFM tiers: {_counts(tiers)}" in text
    assert f"- churn risk: {_counts(churn)}" in text

    # The lapsed window the tiers stand behind.
    at_risk = baton.explain(question="how many are at risk?", plan_id=plan.plan_id)
    assert at_risk.action.action_id == segment.action_id
    assert at_risk.focus is not None and at_risk.focus.param == "min_days_since_purchase"
    facts = {f.label: f.value for f in at_risk.focus.evidence}
    assert facts["churn risk"] == churn and facts["RFM tiers"] == tiers
    assert f"- churn risk: {_counts(churn)}" in at_risk.to_markdown()

    lapsed = baton.explain(question="why 90 days?", plan_id=plan.plan_id).to_markdown()
    assert f"- churn risk: {_counts(churn)}" in lapsed.split("Considered instead")[0]


def test_execution_keeps_the_tiers_and_saves_the_recipients(baton: Baton) -> None:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    segment = approve(baton, action_for(baton, plan.plan_id, "build_segment"))
    result = segment.result
    assert segment.status == "succeeded" and result is not None

    assert skill_for("build_segment").result_model is BuiltSegment
    assert BuiltSegment.model_validate(result).model_dump(mode="json") == result
    assert result.keys() >= LEGACY_KEYS
    for key in ("matched", "size", "suppressed", "by_channel", "reach_share", "rfm_tiers"):
        assert result[key] == segment.evidence[key], key  # the data did not change since
    assert result["churn_risk"] == segment.evidence["churn_risk"]
    with read_session(baton.engine) as session:
        saved = session.exec(
            select(func.count()).where(SegmentMember.action_id == segment.action_id)
        ).one()
    assert saved == result["size"]

    summary = card_props(segment, role="admin")["result_summary"]
    assert summary is not None
    assert f"{result['churn_risk']['high']:,} of them at high churn risk" in summary


def test_one_segment_computation_per_proposal_and_one_at_execution(baton: Baton) -> None:
    passes: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "classified AS" in statement:
            passes.append(statement)

    event.listen(baton.engine, "before_cursor_execute", count)
    try:
        plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
        assert len(passes) == 1, "the proposal and its three alternatives: one pass"
        approve(baton, action_for(baton, plan.plan_id, "build_segment"))
        assert len(passes) == 2, "execution: size, tiers and member ids from one more pass"
    finally:
        event.remove(baton.engine, "before_cursor_execute", count)
