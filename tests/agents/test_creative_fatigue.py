"""The copy step checks the creatives its audience got repeatedly: on the card, in "why"."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agents.proposal import plan_now
from agents.service import Baton
from agents.views import ActionView
from app.cards import card_props
from db.engine import read_session
from tests.support.flow import action_for, approve
from tests.support.home import TODAY
from tests.support.record import record_text, unsourced
from tests.support.workspace import workspace_writer
from tools.fatigue import creative_fatigue
from workspace.demo.experiments import (
    FATIGUE_DECAY,
    FATIGUING_CAMPAIGN,
    REPEAT_SENDS,
    STEADY_CAMPAIGN,
)

NEWSLETTER = "Send the December newsletter to subscribers on December 3"
"""Its segment holds most email contacts: enough repeat sends to measure fatigue."""
REVIEW = 'Review this copy: "Trail essentials, restocked. Unsubscribe: {{unsubscribe_url}}"'
STALE_SUBJECT = "Trail essentials for your next trip"


def _copy_for(baton: Baton, brief: str) -> tuple[ActionView, ActionView]:
    """The executed segment and the copy proposed for it."""
    plan = baton.plan_brief(brief, actor="admin", today=TODAY)
    segment = approve(baton, action_for(baton, plan.plan_id, "build_segment"))
    return segment, action_for(baton, plan.plan_id, "draft_copy")


def _card(view: ActionView) -> dict[str, str]:
    return {row["label"]: row["value"] for row in card_props(view, role="admin")["evidence"]}


def test_the_copy_card_shows_how_tired_the_audience_s_creatives_are(baton: Baton) -> None:
    segment, copy = _copy_for(baton, NEWSLETTER)
    with read_session(baton.engine) as s:
        report = creative_fatigue(
            s, now=plan_now(TODAY), segment_action_id=segment.action_id, channels=["email"]
        )
    measured = {c.campaign: c for c in report.campaigns}
    tired, steady = measured[FATIGUING_CAMPAIGN], measured[STEADY_CAMPAIGN]
    # The planted truth, seen within this audience alone: about 15% fewer clicks per repeat.
    assert tired.fatiguing and not steady.fatiguing
    assert tired.decay_per_exposure is not None and steady.decay_per_exposure is not None
    assert abs(tired.decay_per_exposure - FATIGUE_DECAY) < 0.07
    assert abs(steady.decay_per_exposure) < 0.05
    assert tired.fitted_exposures == REPEAT_SENDS

    evidence = copy.evidence
    assert evidence["creatives_repeated"] == 2
    assert evidence["tired_creative"] == FATIGUING_CAMPAIGN
    assert evidence["reused_creative"] == "none"
    assert evidence["click_rate_decay"] == {
        FATIGUING_CAMPAIGN: tired.decay_per_exposure,
        STEADY_CAMPAIGN: steady.decay_per_exposure,
    }
    assert evidence["decay_z"] == {
        FATIGUING_CAMPAIGN: tired.slope_z,
        STEADY_CAMPAIGN: steady.slope_z,
    }
    assert evidence["exposures_measured"] == {FATIGUING_CAMPAIGN: 8, STEADY_CAMPAIGN: 8}
    assert evidence["tired_sends"] == tired.fitted_sends
    assert segment.result is not None
    assert evidence["contacts_measured"] == report.contacts == segment.result["size"]
    assert list(evidence["tired_click_rates"].values()) == [e.click_rate for e in tired.exposures]
    assert tired.slope_z is not None and tired.slope_z < -1.96

    card = _card(copy)
    assert card["Most fatigued creative"] == FATIGUING_CAMPAIGN
    assert card["Click rate lost per repeat"] == (
        f"{FATIGUING_CAMPAIGN} {tired.decay_per_exposure:.1%}, "
        f"{STEADY_CAMPAIGN} {steady.decay_per_exposure:.1%}"
    )
    assert card["Significance of the decay (z score: strongly negative is a clear decline)"] == (
        f"{FATIGUING_CAMPAIGN} {tired.slope_z:g}, {STEADY_CAMPAIGN} {steady.slope_z:g}"
    )
    assert card["Exposures measured"] == f"{FATIGUING_CAMPAIGN} 8, {STEADY_CAMPAIGN} 8"
    assert card["Creative whose theme this copy carries"] == "none"
    # The rationale is the tool's own sentence, and says the draft does not reuse the creative.
    assert tired.sentence in copy.rationale
    assert "carries the theme of no fatiguing creative" in copy.rationale

    for question in ("why is the creative fatigued?", "is the creative tired?"):
        answer = baton.explain(question=question)
        assert answer.action.action_id == copy.action_id, question
        assert answer.focus is not None and answer.focus.param == "subject", question
    assert answer.focus is not None
    facts = {f.label: f.value for f in answer.focus.evidence}
    assert facts["most fatigued creative"] == FATIGUING_CAMPAIGN
    assert facts["click rate lost per repeat"][FATIGUING_CAMPAIGN] == tired.decay_per_exposure
    assert facts["sends measured for the most fatigued creative"] == tired.fitted_sends
    text = answer.to_markdown()
    assert f"- most fatigued creative: {FATIGUING_CAMPAIGN}" in text
    assert unsourced(text, record_text(baton, answer)) == []

    done = approve(baton, copy)
    assert done.status == "succeeded" and done.result is not None
    assert done.result["tired_creative_reused"] is None
    assert done.result["saved"] is True and done.result["brand_issues"] == []
    assert card_props(done, role="admin")["result_summary"] == (
        f"Copy saved: “{copy.params['subject']}”."
    )


def test_an_edit_that_reuses_the_tired_creative_says_so(baton: Baton) -> None:
    _, copy = _copy_for(baton, NEWSLETTER)
    compared = baton.why_not(question=f"why not “{STALE_SUBJECT}”?")
    row = next(r for r in compared.rows if r.key == "reused_creative")
    assert (row.chosen, row.alternative) == ("none", FATIGUING_CAMPAIGN)

    done = approve(baton, copy, changes={"subject": STALE_SUBJECT})
    assert done.revision == 2 and done.status == "succeeded"
    assert done.evidence["reused_creative"] == FATIGUING_CAMPAIGN
    assert _card(done)["Creative whose theme this copy carries"] == FATIGUING_CAMPAIGN
    assert done.result is not None and done.result["tired_creative_reused"] == FATIGUING_CAMPAIGN
    assert card_props(done, role="admin")["result_summary"] == (
        f"Copy saved: “{STALE_SUBJECT}”. It carries the theme of {FATIGUING_CAMPAIGN}, "
        "which is fatiguing with this audience."
    )
    answer = baton.explain(question="why this subject?")
    assert answer.focus is not None and answer.focus.value == STALE_SUBJECT
    facts = {f.label: f.value for f in answer.focus.evidence}
    assert facts["creative whose theme this copy carries"] == FATIGUING_CAMPAIGN
    assert unsourced(answer.to_markdown(), record_text(baton, answer)) == []


def _plant_tired_creative(baton: Baton, campaign: str, click_percent: tuple[int, ...]) -> None:
    """Send `campaign` weekly to every email contact; fewer of them click each week."""
    first = plan_now(TODAY) - timedelta(days=60)
    with workspace_writer(baton.engine) as s:
        conn = s.connection()
        ids = [i for (i,) in conn.exec_driver_sql("SELECT id FROM contact WHERE email_consent")]
        rows: list[tuple[int, str, str]] = []
        for week, percent in enumerate(click_percent):
            sent = first + timedelta(days=7 * week)
            for contact in ids:
                rows.append((contact, "send", sent.strftime("%Y-%m-%d %H:%M:%S.%f")))
                if contact % 100 < percent:
                    click = sent + timedelta(hours=1)
                    rows.append((contact, "click", click.strftime("%Y-%m-%d %H:%M:%S.%f")))
        conn.exec_driver_sql(
            "INSERT INTO event (contact_id, channel, event, campaign, occurred_at, variant, "
            "revenue) VALUES (?, 'email', ?, ?, ?, '', 0)",
            [(contact, event, campaign, at) for contact, event, at in rows],
        )


def test_a_draft_that_would_reuse_a_tired_creative_leads_with_a_fresh_subject(
    baton: Baton,
) -> None:
    # The newsletter's first subject is "This month at Northwind Outfitters": a creative
    # called "email-this-month" has worn out with these people, 30% -> 9% of them clicking.
    _plant_tired_creative(baton, "email-this-month", (30, 20, 13, 9))
    _, copy = _copy_for(baton, NEWSLETTER)
    assert copy.evidence["tired_creative"] == "email-this-month"
    rates = list(copy.evidence["tired_click_rates"].values())
    assert rates == pytest.approx([0.30, 0.20, 0.13, 0.09], abs=0.02)
    assert copy.evidence["decay_z"]["email-this-month"] < -1.96
    assert copy.evidence["fatiguing_creatives"] == ["email-this-month", FATIGUING_CAMPAIGN]
    assert copy.params["subject"] == "Trail notes from Northwind Outfitters"
    assert copy.evidence["reused_creative"] == "none"
    (set_aside,) = copy.alternatives
    assert set_aside == {
        "option": "variant A subject",
        "subject": "This month at Northwind Outfitters",
        "why_not": "carries the theme of email-this-month, which is fatiguing with this audience",
    }
    assert (
        "Variant A's subject “This month at Northwind Outfitters” carries its theme, so this "
        "draft leads with variant B's subject instead." in copy.rationale
    )
    answer = baton.explain(question="why this subject?")
    assert answer.focus is not None and answer.focus.alternatives == [set_aside]
    text = answer.to_markdown()
    assert "not chosen: carries the theme of email-this-month" in text
    assert unsourced(text, record_text(baton, answer)) == []


def test_copy_under_review_has_no_audience_to_check(baton: Baton) -> None:
    plan = baton.plan_brief(REVIEW, actor="admin", today=TODAY)
    copy = action_for(baton, plan.plan_id, "draft_copy")
    assert copy.evidence["review_of_given_text"] is True
    assert "creatives_repeated" not in copy.evidence and "fatigu" not in copy.rationale


def test_a_small_audience_gets_no_fatigue_verdict(baton: Baton) -> None:
    brief = "Win back customers who haven't bought in 90 days, email only, start December 1"
    segment, copy = _copy_for(baton, brief)
    assert segment.result is not None and segment.result["size"] < 1000
    assert copy.evidence["creatives_repeated"] == 2
    assert copy.evidence["tired_creative"] == "none"
    assert copy.evidence["click_rate_decay"] == {}
    assert "2 creative(s) reached this audience more than once, with too few sends" in (
        copy.rationale
    )
