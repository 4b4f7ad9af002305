"""What a card shows: each recorded number read by what it is (money, share, count)."""

from __future__ import annotations

from agents.service import Baton
from app.cards import card_props
from tests.support.flow import action_for, approve
from tests.support.home import TODAY, WINBACK


def _rows(rows: list[dict[str, str]]) -> dict[str, str]:
    return {r["label"]: r["value"] for r in rows}


def test_a_budget_card_shows_costs_as_money_and_shares_as_percentages(baton: Baton) -> None:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    approve(baton, action_for(baton, plan.plan_id, "build_segment"))
    budget = action_for(baton, plan.plan_id, "allocate_budget")

    props = card_props(budget, role="admin")

    evidence = _rows(props["evidence"])
    cost = budget.evidence["cost_per_conversion"]
    # A cost below one is money, not a fraction: 0.66 reads "0.66", never "66.0%".
    assert evidence["Cost per conversion"] == ", ".join(f"{k} {v:,.2f}" for k, v in cost.items())
    shares = budget.evidence["shares"]
    assert evidence["Shares"] == ", ".join(f"{k} {v:.1%}" for k, v in shares.items())
    allocations = budget.params["allocations"]
    expected = ", ".join(f"{k} {v:,.2f}" for k, v in allocations.items())
    assert _rows(props["params"])["Allocations"] == expected


def test_an_ab_test_card_shows_the_detectable_lift_as_a_percentage(baton: Baton) -> None:
    brief = "A/B test two subject lines for the newsletter to engaged subscribers next week"
    plan = baton.plan_brief(brief, actor="admin", today=TODAY)
    for tool in ("build_segment", "draft_copy"):
        action = action_for(baton, plan.plan_id, tool)
        if action.status == "proposed":
            approve(baton, action)
    design = action_for(baton, plan.plan_id, "design_test")

    params = _rows(card_props(design, role="admin")["params"])

    assert params["Minimum detectable lift"] == f"{design.params['mde']:.1%}"
    assert params["Significance level (alpha)"] == f"{design.params['alpha']:g}"
