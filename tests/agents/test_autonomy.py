"""The autonomy ladder (DESIGN 5), set in policy.toml as a marketer would."""

from __future__ import annotations

from pathlib import Path

from agents.service import Baton
from tests.support.flow import action_for, approve_all_pending
from tests.support.home import TODAY, WINBACK

REPORT = "How did our channels perform last month? Give me a KPI report."


def _set_autonomy(home: Path, level: int) -> None:
    policy = home / "policy.toml"
    policy.write_text(policy.read_text().replace("autonomy = 1", f"autonomy = {level}", 1))


def test_manual_mode_runs_nothing_without_a_click(baton: Baton, home: Path) -> None:
    _set_autonomy(home, 0)
    plan = baton.plan_brief(REPORT, actor="admin", today=TODAY)
    kpis = action_for(baton, plan.plan_id, "kpi_summary")
    assert kpis.status == "proposed" and kpis.requires_approval and kpis.result is None


def test_supervised_mode_runs_internal_work_and_still_waits_for_a_launch(
    baton: Baton, home: Path
) -> None:
    _set_autonomy(home, 2)
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    statuses = {a.tool: a.status for a in baton.list_actions(plan_id=plan.plan_id)}
    assert statuses["build_segment"] == "succeeded"
    assert statuses["draft_copy"] == "succeeded" and statuses["schedule_send"] == "succeeded"
    # USD 2,000 is above the policy's spend threshold: escalated to the approver role.
    budget = action_for(baton, plan.plan_id, "allocate_budget")
    assert budget.status == "proposed" and budget.required_role == "approver"
    approve_all_pending(baton, plan.plan_id)
    launch = action_for(baton, plan.plan_id, "launch_campaign")
    assert launch.decisions[0].verdict == "approve", "an external effect waited for a person"


def test_autonomy_per_action_kind_overrides_the_global_level(baton: Baton, home: Path) -> None:
    policy = home / "policy.toml"
    policy.write_text(
        policy.read_text().replace(
            "[autonomy_by_kind]\n", "[autonomy_by_kind]\nbuild_segment = 2\n", 1
        )
    )
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    assert action_for(baton, plan.plan_id, "build_segment").status == "succeeded"
    assert action_for(baton, plan.plan_id, "draft_copy").status == "proposed"
