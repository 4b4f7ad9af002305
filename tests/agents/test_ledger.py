"""The iterative ledger: results that change the rest of the plan, with a diff."""

from __future__ import annotations

from sqlmodel import select

from agents.service import Baton
from db.engine import read_session, write_session
from db.models import PlanRevision
from db.workspace_models import Contact
from tests.support.flow import action_for, approve
from tests.support.home import TODAY, WINBACK

AB_TEST = "A/B test two subject lines for VIP customers in APAC by email, start December 1"


def test_a_segment_too_small_for_the_test_re_plans_the_test_and_shows_the_diff(
    baton: Baton,
) -> None:
    view = baton.plan_brief(AB_TEST, actor="admin", today=TODAY)
    assert view.goal["playbook"] == "ab_test" and view.version == 1
    segment = action_for(baton, view.plan_id, "build_segment")

    approve(baton, segment)

    plan = baton.get_plan(view.plan_id)
    assert plan.version == 2
    revision = plan.revisions[0]
    assert "the smallest lift this audience can show" in revision.reason
    assert revision.diff[0]["change"] == "changed" and revision.diff[0]["key"] == "test"
    assert "minimum detectable lift" in revision.diff[0]["detail"]
    approve(baton, action_for(baton, view.plan_id, "draft_copy"))
    test = action_for(baton, view.plan_id, "design_test")
    assert test.status == "proposed"
    assert test.params["mde"] > 0.0 and "smallest lift" in test.rationale
    # The re-planned design is one this audience can power.
    assert test.evidence["feasible"] is True or test.evidence["detectable_mde"] is None
    # The approved segment is not asked again.
    assert action_for(baton, view.plan_id, "build_segment").status == "succeeded"


def test_a_channel_nobody_can_receive_is_dropped_from_the_steps_not_yet_decided(
    baton: Baton,
) -> None:
    with write_session(baton.engine) as session:
        for contact in session.exec(select(Contact).where(Contact.sms_consent == True)):  # noqa: E712
            contact.sms_consent = False
            session.add(contact)
    view = baton.plan_brief(WINBACK, actor="admin", today=TODAY)

    approve(baton, action_for(baton, view.plan_id, "build_segment"))

    plan = baton.get_plan(view.plan_id)
    assert plan.version == 2 and plan.goal["channels"] == ["email"]
    assert "No one in the segment can be reached by sms" in plan.revisions[0].reason
    changed = {d["key"] for d in plan.revisions[0].diff}
    assert "copy" in changed
    copy = action_for(baton, view.plan_id, "draft_copy")
    assert "sms_text" not in copy.params or not copy.params.get("sms_text")
    with read_session(baton.engine) as session:
        assert len(list(session.exec(select(PlanRevision)))) == 1
