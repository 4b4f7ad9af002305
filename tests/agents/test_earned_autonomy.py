"""Earned autonomy: unchanged approvals earn a suggestion, a person confirms, a rejection undoes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session, select

from agents.decision import DecisionOutcome, DecisionRequest
from agents.lifecycle import DecisionError
from agents.service import Baton
from db.models import AuditEvent
from tests.support.cli import run
from tests.support.flow import action_for
from tests.support.home import TODAY, WINBACK

KIND = "build_segment"


@pytest.fixture(autouse=True)
def _earn_after_two(home: Path) -> None:
    """The lowest useful N: two unchanged approvals in a row earn the suggestion."""
    policy = home / "policy.toml"
    text = policy.read_text()
    assert "earn_after = 5" in text
    policy.write_text(text.replace("earn_after = 5", "earn_after = 2", 1))


def _segment(baton: Baton) -> str:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    return action_for(baton, plan.plan_id, KIND).action_id


def _decide(
    baton: Baton,
    action_id: str,
    verdict: str = "approve",
    *,
    actor: str = "admin",
    **fields: object,
) -> DecisionOutcome:
    revision = baton.get_action(action_id).revision
    request = DecisionRequest(action_id=action_id, revision=revision, verdict=verdict, **fields)
    return baton.decide(request, actor=actor)


def _audit(baton: Baton, kind: str) -> list[AuditEvent]:
    with Session(baton.engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.kind == kind)))


def test_unchanged_approvals_earn_a_suggestion_and_confirming_lets_the_kind_run(
    baton: Baton,
) -> None:
    assert _decide(baton, _segment(baton)).autonomy_suggestion is None
    offer = _decide(baton, _segment(baton)).autonomy_suggestion
    assert offer is not None and offer.kind == KIND and offer.streak == 2 and offer.can_confirm
    assert offer.text == (
        "You approved build_segment unchanged 2 times in a row. Let Baton run it without asking?"
    )
    still_asks = baton.get_action(_segment(baton))
    assert still_asks.status == "proposed", "nothing is raised without the confirmation"

    sentence = baton.raise_autonomy(KIND, actor="admin")
    assert sentence.startswith("Baton now runs build_segment without asking")
    [raised] = _audit(baton, "autonomy.raised")
    assert raised.actor == "admin" and raised.data["level"] == 2 and raised.data["streak"] == 2

    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    segment = action_for(baton, plan.plan_id, KIND)
    assert segment.status == "succeeded" and not segment.requires_approval
    assert [d.verdict for d in segment.decisions] == ["auto_approve"]
    [check] = [c for c in segment.policy_checks if c.rule == "earned_autonomy"]
    assert "raised to 2 by admin" in check.detail and "2 unchanged approvals" in check.detail
    [auto] = [e for e in _audit(baton, "action.auto_approved") if e.entity_id == segment.action_id]
    assert auto.data["earned_autonomy"] == check.detail
    assert "earned_autonomy" in baton.explain(action_id=segment.action_id).to_markdown()
    assert action_for(baton, plan.plan_id, "draft_copy").status == "proposed", "only that kind"

    with pytest.raises(DecisionError, match="not on offer"):
        baton.raise_autonomy(KIND, actor="admin")
    [row] = [k for k in baton.autonomy_overview() if k.kind == KIND]
    assert row.granted_level == 2 and row.runs_by_itself and row.approved_unchanged == 2


def test_a_rejection_lowers_it_again_and_says_so(baton: Baton) -> None:
    _decide(baton, _segment(baton))
    _decide(baton, _segment(baton))
    waiting = _segment(baton)  # proposed before the confirmation, so it still asks
    baton.raise_autonomy(KIND, actor="admin")

    outcome = _decide(baton, waiting, "reject", reason="too broad")
    assert outcome.autonomy_note == (
        f"Autonomy for build_segment is back to asking first, because you rejected {waiting} "
        "(“too broad”)."
    )
    [lowered] = _audit(baton, "autonomy.lowered")
    assert lowered.data["decision_id"] is not None
    assert baton.get_action(_segment(baton)).status == "proposed"
    [row] = [k for k in baton.autonomy_overview() if k.kind == KIND]
    assert row.granted_level is None and row.streak == 0 and row.rejected == 1


def test_an_edit_breaks_the_streak(baton: Baton) -> None:
    _decide(baton, _segment(baton))
    edited = _decide(baton, _segment(baton), changes={"min_days_since_purchase": 120})
    assert edited.autonomy_suggestion is None and edited.action.status == "succeeded"
    assert _decide(baton, _segment(baton)).autonomy_suggestion is None
    with pytest.raises(DecisionError, match=r"now 1"):
        baton.raise_autonomy(KIND, actor="admin")
    assert _decide(baton, _segment(baton)).autonomy_suggestion is not None


def test_only_the_confirm_role_may_raise_and_the_offer_says_so(baton: Baton) -> None:
    baton.add_user(name="mia", role="marketer", password="pw-mia-123456")
    baton.add_user(name="val", role="viewer", password="pw-val-123456")
    _decide(baton, _segment(baton), actor="mia")
    offer = _decide(baton, _segment(baton), actor="mia").autonomy_suggestion
    assert offer is not None and not offer.can_confirm and offer.confirm_role == "approver"
    for who in ("mia", "val"):
        with pytest.raises(DecisionError, match="needs the approver role") as refused:
            baton.raise_autonomy(KIND, actor=who)
        assert refused.value.code == "forbidden"
    assert baton.autonomy_overview()[0].granted_level is None
    assert "keeps asking" in baton.decline_autonomy(KIND, actor="mia")
    assert _audit(baton, "autonomy.declined")[0].actor == "mia"
    with pytest.raises(DecisionError, match="no action kind"):
        baton.raise_autonomy("launch_everything", actor="admin")


def test_autonomy_from_the_command_line(baton: Baton, home: Path) -> None:
    _decide(baton, _segment(baton))
    approved = run(home, "approve", _segment(baton), "--revision", "1")
    assert approved.returncode == 0, approved.stderr
    assert (
        "Let Baton run it without asking? Confirm with `baton autonomy raise build_segment`."
        in (approved.stdout)
    )
    listed = {k["kind"]: k for k in json.loads(run(home, "autonomy", "--json").stdout)}
    assert listed[KIND]["streak"] == 2 and listed[KIND]["suggested"]
    raised = run(home, "autonomy", "raise", KIND)
    assert raised.returncode == 0 and "without asking" in raised.stdout
    lowered = run(home, "autonomy", "lower", KIND)
    assert lowered.returncode == 0 and "back to asking first" in lowered.stdout
    with pytest.raises(DecisionError, match="no raised autonomy"):
        baton.lower_autonomy(KIND, actor="admin")
