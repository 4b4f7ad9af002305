"""An A/B brief reads out the last finished test first, then designs the next one from it."""

from __future__ import annotations

import math
from datetime import date

import pytest

from agents.service import Baton
from agents.views import ActionView
from app.cards import card_props
from tests.support.flow import action_for, approve
from tests.support.home import TODAY
from tests.support.record import record_text, unsourced
from workspace.demo.experiments import AB_CLICK_GIVEN_OPEN, AB_TEST_THEME

AB_BRIEF = "A/B test two subject lines for the newsletter to engaged subscribers next week"
PLANTED_WINNER = max(AB_CLICK_GIVEN_OPEN, key=AB_CLICK_GIVEN_OPEN.__getitem__)
PLANTED_LIFT = AB_CLICK_GIVEN_OPEN["B"] / AB_CLICK_GIVEN_OPEN["A"] - 1


def _rows(rows: list[dict[str, str]]) -> dict[str, str]:
    return {r["label"]: r["value"] for r in rows}


def _readout(baton: Baton, brief: str = AB_BRIEF, today: date = TODAY) -> ActionView:
    plan = baton.plan_brief(brief, actor="admin", today=today)
    assert plan.steps[0].action is not None, "the readout is the plan's first step"
    assert plan.steps[0].action.tool == "read_out_test"
    return action_for(baton, plan.plan_id, "read_out_test")


def test_an_ab_brief_reads_out_the_planted_test(baton: Baton) -> None:
    readout = _readout(baton)
    # A read: it ran by itself, without a card to approve.
    assert readout.status == "succeeded" and readout.risk == "read"
    assert readout.params["campaign"].endswith(AB_TEST_THEME)
    result = readout.result
    assert result is not None and result["winner"] == PLANTED_WINNER == "B"
    numbers = result["readout"]
    assert numbers["relative_lift"] == pytest.approx(PLANTED_LIFT, abs=0.2)
    assert 0 < numbers["relative_ci_low"] < PLANTED_LIFT < numbers["relative_ci_high"]
    assert numbers["p_value"] < 0.001

    # The next rotation: Thompson shares that sum to 1 and favour the winner.
    shares = result["shares"]
    assert math.fsum(shares.values()) == pytest.approx(1.0)
    assert shares["B"] > shares["A"] >= result["floor"]

    # The card: each variant's numbers, the verdict, the rotation, in one sentence too.
    props = card_props(readout, role="admin")
    evidence = _rows(props["evidence"])
    assert evidence["Sends"] == f"A {numbers['n_a']:,}, B {numbers['n_b']:,}"
    assert evidence["Clicks"] == f"A {numbers['successes_a']:,}, B {numbers['successes_b']:,}"
    assert evidence["Click rate"] == f"A {numbers['rate_a']:.1%}, B {numbers['rate_b']:.1%}"
    assert evidence["Winner"] == "B"
    assert evidence["Lift (relative to the control)"] == f"{numbers['relative_lift']:.1%}"
    assert evidence["Significance"] == "p < 0.001"
    assert evidence["Next rotation"] == f"A {shares['A']:.1%}, B {shares['B']:.1%}"
    assert props["result_summary"] == (
        f"Variant B wins: {numbers['relative_lift']:+.0%} clicks (95% CI "
        f"{numbers['relative_ci_low']:+.0%} to {numbers['relative_ci_high']:+.0%}), "
        f"p < 0.001; next rotation B {shares['B']:.0%} / A {shares['A']:.0%}."
    )


def test_the_same_plan_twice_gives_the_same_rotation(baton: Baton) -> None:
    first, second = _readout(baton), _readout(baton)
    assert first.plan_id != second.plan_id
    assert first.result is not None and second.result is not None
    assert first.result["seed"] == second.result["seed"]
    assert first.result["shares"] == second.result["shares"]


def test_why_answers_who_won(baton: Baton) -> None:
    readout = _readout(baton)
    answer = baton.explain(question="who won?")
    assert answer.action.action_id == readout.action_id
    assert answer.focus is not None and answer.focus.param == "campaign"
    facts = {f.label: f.value for f in answer.focus.evidence}
    assert facts["winner"] == "B"
    assert facts["lift (relative to the control)"] == readout.evidence["relative_lift"]
    assert facts["confidence interval of the lift"] == readout.evidence["lift_ci"]
    text = answer.to_markdown()
    assert "**Test read out: " in text and "- winner: B" in text
    missing = unsourced(text, record_text(baton, answer))
    assert not missing, f"{missing} are not in the record:\n{text}"


def test_the_design_takes_its_baseline_from_the_readout(baton: Baton) -> None:
    readout = _readout(baton)
    for tool in ("build_segment", "draft_copy"):
        action = action_for(baton, readout.plan_id, tool)
        if action.status == "proposed":
            approve(baton, action)
    design = action_for(baton, readout.plan_id, "design_test")
    assert readout.result is not None
    winner_rate = readout.result["readout"]["rate_b"]
    assert design.params["baseline"] == round(winner_rate, 4)
    assert design.evidence["baseline_from"] == (
        f"variant B of {readout.params['campaign']}, the winner"
    )
    # The sample-size evidence is still there.
    assert design.evidence["sample_per_variant"] > 0
    assert design.evidence["total_needed"] == 2 * design.evidence["sample_per_variant"]
    approved = approve(baton, design)
    assert approved.status == "succeeded" and approved.result is not None
    assert approved.result["designed"] is True
    assert approved.result["baseline_from"] == design.evidence["baseline_from"]


def test_a_brief_that_names_a_test_reads_that_one(baton: Baton) -> None:
    readout = _readout(baton, "A/B test the subject line again, after the style guide test")
    assert readout.params["campaign"].endswith("-style-guide")
    assert readout.result is not None and readout.result["found"]


def test_without_a_finished_test_the_design_uses_the_channel_rate(baton: Baton) -> None:
    # On this day no split campaign has settled yet.
    readout = _readout(baton, today=date(2025, 12, 22))
    assert readout.result is not None and not readout.result["found"]
    assert readout.params["campaign"] is None
    assert card_props(readout, role="admin")["result_summary"].startswith("No finished A/B test")
    for tool in ("build_segment", "draft_copy"):
        action = action_for(baton, readout.plan_id, tool)
        if action.status == "proposed":
            approve(baton, action)
    design = action_for(baton, readout.plan_id, "design_test")
    assert "baseline_from" not in design.evidence
    assert "over the last 90 days" in design.rationale
