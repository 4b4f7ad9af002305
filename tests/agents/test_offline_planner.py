"""The offline planner: slot extractors, playbook rules and the step templates."""

from __future__ import annotations

from datetime import date

import pytest

from agents.planning.audience import compose_objective, extract_audience, extract_kpi
from agents.planning.channels import extract_channels
from agents.planning.dates import extract_dates, extract_recency_days
from agents.planning.goal import PLAYBOOKS, Goal, StepDraft
from agents.planning.money import extract_budget
from agents.planning.offline import (
    classify_playbook,
    extract_goal,
    extract_review_text,
    plan_offline,
)
from agents.playbooks.registry import playbook_for, steps_for
from agents.playbooks.segment import regions_in, segment_inputs
from agents.playbooks.steps import STEP_TOOLS
from tools.audience import SegmentRules

TODAY = date(2026, 11, 21)  # a Saturday
ACCEPTANCE_BRIEF = (
    "Win back customers who haven't bought in 90 days, $2,000, email and SMS, start December 1"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$2,000 for the campaign", (2000.0, "USD")),
        ("spend $2k on this", (2000.0, "USD")),
        ("Win back lapsed customers, 2k, email", (2000.0, "USD")),
        ("Promo for VIPs, 2K, next week", (2000.0, "USD")),
        ("EUR 1.5k for the launch", (1500.0, "EUR")),
        ("€1,500 across social", (1500.0, "EUR")),
        ("€1500 across social", (1500.0, "EUR")),
        ("€1.500 across social", (1500.0, "EUR")),
        ("£900 on SMS", (900.0, "GBP")),
        ("keep it under $900", (900.0, "USD")),
        ("a budget of 3000 dollars", (3000.0, "USD")),
        ("total budget 1.2m for the year", (1_200_000.0, "USD")),
        ("social and search, 1.2m.", (1_200_000.0, "USD")),
        ("USD 500 on push", (500.0, "USD")),
        ("500 euros on email", (500.0, "EUR")),
        ("$2,000.50 exactly", (2000.5, "USD")),
        ("budget 2k", (2000.0, "USD")),
        ("budget: 5,000", (5000.0, "USD")),
        ("a 3000 budget for search", (3000.0, "USD")),
        ("$1.5 million on display", (1_500_000.0, "USD")),
        ("CAD 800 for Canada", (800.0, "CAD")),
        ("Promote the $49 bundle with a $2,000 budget", (2000.0, "USD")),
        ("$10 off orders, spend $500", (500.0, "USD")),
        ("2,500€ on search", (2500.0, "EUR")),
        ("$ 2,000 total", (2000.0, "USD")),
        ("we have 2k to spend", (2000.0, "USD")),
        ("budget of over $2k", (2000.0, "USD")),
        ("customers who spent over $500 last year", (None, None)),
        ("haven't bought in 90 days", (None, None)),
        ("email the top 100 customers", (None, None)),
        ("20% off everything", (None, None)),
        ("start 2026-12-01", (None, None)),
        ("launch December 3", (None, None)),
        ("send to 10k subscribers", (None, None)),
        ("budget review for the last 30 days", (None, None)),
        ("$10 off your next order", (None, None)),
        ("spend 20% more on email", (None, None)),
    ],
)
def test_extract_budget(text: str, expected: tuple[float | None, str | None]) -> None:
    assert extract_budget(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("email and SMS", ["email", "sms"]),
        ("SMS first, then e-mail", ["email", "sms"]),
        ("two emails and a reminder", ["email"]),
        ("send texts to VIPs", ["sms"]),
        ("a text message on Friday", ["sms"]),
        ("push notifications to app users", ["push"]),
        ("email + push", ["email", "push"]),
        ("push the launch to next week", []),
        ("Facebook and Instagram ads", ["social"]),
        ("TikTok, LinkedIn", ["social"]),
        ("Google Ads and paid search", ["search"]),
        ("SEM budget", ["search"]),
        ("research what our competitors do", []),
        ("search the notes for last year's results", []),
        ("email, social and search", ["email", "social", "search"]),
        ("banner ads on partner sites", ["display"]),
        ("display ads", ["display"]),
        ("display the results by week", []),
        ("a postcard campaign", ["direct_mail"]),
        ("direct mail to top customers", ["direct_mail"]),
        ("update the landing page and website", ["web"]),
        ("follow up after the webinar", []),
        ("monthly newsletter", []),
        ("web, email and SMS", ["email", "sms", "web"]),
        ("postcards, push notifications and Google Ads", ["push", "search", "direct_mail"]),
        ("Insta and FB", ["social"]),
        ("text them on Friday", ["sms"]),
        ("context and textures", []),
    ],
)
def test_extract_channels(text: str, expected: list[str]) -> None:
    assert extract_channels(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("start December 1", (date(2026, 12, 1), None)),
        ("on December 3", (date(2026, 12, 3), None)),
        ("Dec 3", (date(2026, 12, 3), None)),
        ("Dec. 3rd", (date(2026, 12, 3), None)),
        ("3 December", (date(2026, 12, 3), None)),
        ("the 3rd of December", (date(2026, 12, 3), None)),
        ("on November 2", (date(2027, 11, 2), None)),
        ("November 21", (date(2026, 11, 21), None)),
        ("March 5, 2027", (date(2027, 3, 5), None)),
        ("2026-12-01", (date(2026, 12, 1), None)),
        ("12/01/2026", (date(2026, 12, 1), None)),
        ("next week", (date(2026, 11, 23), date(2026, 11, 29))),
        ("this week", (date(2026, 11, 21), date(2026, 11, 22))),
        ("tomorrow", (date(2026, 11, 22), None)),
        ("next month", (date(2026, 12, 1), date(2026, 12, 31))),
        ("in 2 weeks", (date(2026, 12, 5), None)),
        ("in two weeks", (date(2026, 12, 5), None)),
        ("from Dec 1 to Dec 14", (date(2026, 12, 1), date(2026, 12, 14))),
        ("Dec 1-14", (date(2026, 12, 1), date(2026, 12, 14))),
        ("December 1 to 14", (date(2026, 12, 1), date(2026, 12, 14))),
        ("1-14 December", (date(2026, 12, 1), date(2026, 12, 14))),
        ("between Dec 1 and Dec 14", (date(2026, 12, 1), date(2026, 12, 14))),
        ("from Dec 20 to Jan 5", (date(2026, 12, 20), date(2027, 1, 5))),
        ("2026-12-01 to 2026-12-14", (date(2026, 12, 1), date(2026, 12, 14))),
        ("by Friday", (None, date(2026, 11, 27))),
        ("on Friday", (date(2026, 11, 27), None)),
        ("this Saturday", (date(2026, 11, 21), None)),
        ("next Saturday", (date(2026, 11, 28), None)),
        ("by the end of month", (None, date(2026, 11, 30))),
        ("end of month", (date(2026, 11, 30), None)),
        ("start December 1, end by December 14", (date(2026, 12, 1), date(2026, 12, 14))),
        ("next week, wrap up by Friday", (date(2026, 11, 23), date(2026, 11, 27))),
        ("last month's results", (date(2026, 10, 1), date(2026, 10, 31))),
        ("in the last 30 days", (date(2026, 10, 22), date(2026, 11, 20))),
        ("what worked last quarter", (date(2026, 7, 1), date(2026, 9, 30))),
        ("until Jan 10", (None, date(2027, 1, 10))),
        ("start December 1, by Friday", (date(2026, 12, 1), None)),
        ("haven't bought in 90 days", (None, None)),
        ("customers who bought last week", (date(2026, 11, 9), date(2026, 11, 15))),
        ("haven't bought in the last 6 months", (None, None)),
        ("lapsed since last month", (None, None)),
        ("when the store opens in 2 weeks", (date(2026, 12, 5), None)),
        ("top 100 customers, 20% off", (None, None)),
        ("Black Friday sale", (None, None)),
        ("no sends on Sunday", (None, None)),
        ("24/7 support, 1/2 price", (None, None)),
    ],
)
def test_extract_dates(text: str, expected: tuple[date | None, date | None]) -> None:
    assert extract_dates(text, today=TODAY) == expected


def test_dates_next_week_from_a_monday_is_the_following_week() -> None:
    monday = date(2026, 11, 23)
    assert extract_dates("next week", today=monday) == (date(2026, 11, 30), date(2026, 12, 6))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("customers who haven't bought in 90 days", 90),
        ("who haven't purchased anything in the last 6 months", 180),
        ("has not ordered for 60 days", 60),
        ("lapsed 90 days", 90),
        ("lapsed 120 days ago", 120),
        ("lapsed customers (90+ days)", 90),
        ("90+ days since purchase", 90),
        ("inactive for 3 months", 90),
        ("dormant for a year", 365),
        ("no purchase in 45 days", 45),
        ("60 days since their last purchase", 60),
        ("last order over 100 days ago", 100),
        ("90-day lapsed customers", 90),
        ("customers who bought twice but not in the last 60 days", 60),
        ("customers who bought in the last 6 months", None),
        ("haven't purchased since March", None),
        ("launch in 2 weeks", None),
        ("top 100 customers", None),
        ("inactive subscribers, launch in 2 weeks", None),
    ],
)
def test_extract_recency_days(text: str, expected: int | None) -> None:
    assert extract_recency_days(text) == expected


PLAYBOOK_BRIEFS = [
    (ACCEPTANCE_BRIEF, "winback"),
    ("Re-engage lapsed customers with a 15% discount", "winback"),
    ("Bring back churned subscribers by SMS", "winback"),
    ("Launch our new product to VIP customers next week", "launch"),
    ("Announce the spring collection on social", "launch"),
    ("Introduce the new app to existing users", "launch"),
    ("Black Friday sale: 30% off everything, $5k", "promotion"),
    ("Run a promo for the weekend", "promotion"),
    ("Launch a flash sale tomorrow", "promotion"),
    ("Send the December newsletter", "newsletter"),
    ("Put together the monthly newsletter for subscribers in Europe", "newsletter"),
    ("Follow up with webinar attendees", "event_followup"),
    ("Thank everyone we met at the conference and book demos", "event_followup"),
    ("Send a thank-you to everyone who attended our booth at the trade show", "event_followup"),
    ("Nurture new leads from the trial signups", "lead_nurture"),
    ("Invite leads to our upcoming webinar on December 10", "lead_nurture"),
    ("Set up an onboarding series for new signups", "lead_nurture"),
    ("Budget review for Q4", "budget_review"),
    ("We are overspending on search, reallocate to email", "budget_review"),
    ("How is my budget pacing this month?", "budget_review"),
    ("Is my spend on track?", "budget_review"),
    ("How did last month's promo perform?", "performance_report"),
    ("Show me the KPIs dashboard for email", "performance_report"),
    ("Give me a performance report for last week", "performance_report"),
    ("A/B test two subject lines for the Black Friday promo", "ab_test"),
    ("Split test the offer in our newsletter", "ab_test"),
    ("Run an experiment on send times", "ab_test"),
    ("Build a segment of VIP customers in Europe", "audience_build"),
    ("Find customers who haven't bought in 90 days", "audience_build"),
    ("Give me a list of our top 100 customers", "audience_build"),
    ('Review this copy: "Huge savings, act now!"', "content_review"),
    ("Proofread the promo email before it goes out", "content_review"),
    ("Is this on-brand? 'Best deals ever'", "content_review"),
]


@pytest.mark.parametrize(("brief", "expected"), PLAYBOOK_BRIEFS)
def test_classify_playbook(brief: str, expected: str) -> None:
    assert classify_playbook(brief) == expected


def test_every_playbook_is_reachable_by_two_briefs() -> None:
    for playbook in PLAYBOOKS:
        briefs = [brief for brief, expected in PLAYBOOK_BRIEFS if expected == playbook]
        assert len(briefs) >= 2, playbook
        assert all(classify_playbook(brief) == playbook for brief in briefs)


def test_an_unclassifiable_brief_is_a_promotion() -> None:
    assert classify_playbook("Email our VIP customers on Tuesday") == "promotion"


@pytest.mark.parametrize(
    ("text", "playbook", "recency", "expected"),
    [
        (ACCEPTANCE_BRIEF, "winback", 90, "customers who haven't bought in 90 days"),
        ("Email VIP customers next week", "promotion", None, "VIP customers"),
        ("Follow up with webinar attendees by email", "event_followup", None, "webinar attendees"),
        ("Newsletter to subscribers in Europe", "newsletter", None, "subscribers in Europe"),
        ("Win back lapsed customers, $2k", "winback", None, "lapsed customers"),
        ("Win back, lapsed 90 days, $2k", "winback", 90, "customers who haven't bought in 90 days"),
        (
            "Text loyal customers who bought twice via SMS",
            "promotion",
            None,
            "loyal customers who bought twice",
        ),
        ("Nurture leads", "lead_nurture", None, "leads"),
        ("Run a sale this weekend", "promotion", None, None),
        ("How did email do last month?", "performance_report", None, None),
    ],
)
def test_extract_audience(text: str, playbook: str, recency: int | None, expected: str) -> None:
    assert extract_audience(text, playbook, recency) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Optimise for open rate", "open rate"),
        ("we care about CTR", "click-through rate"),
        ("report ROAS by channel", "ROAS"),
        ("Win back lapsed customers", None),
    ],
)
def test_extract_kpi(text: str, expected: str | None) -> None:
    assert extract_kpi(text) == expected


def test_review_text_prefers_quotes_then_what_follows_a_colon() -> None:
    assert extract_review_text('Review this copy: "Huge savings, act now!"') == (
        "Huge savings, act now!"
    )
    assert extract_review_text("Proofread: Our best sale ever") == "Our best sale ever"
    assert extract_review_text("Proofread the promo email") is None


def test_objective_is_one_sentence_from_playbook_audience_and_channels() -> None:
    assert compose_objective(
        "winback", "customers who haven't bought in 90 days", ["email", "sms"]
    ) == ("Win back customers who haven't bought in 90 days via email and SMS")
    assert compose_objective("newsletter", None, ["email"]) == (
        "Send the newsletter to subscribers via email"
    )


def test_acceptance_brief() -> None:
    plan = plan_offline(ACCEPTANCE_BRIEF, today=TODAY)
    goal = plan.goal
    assert plan.planner == "offline"
    assert goal.playbook == "winback"
    assert goal.budget == 2000.0
    assert goal.currency == "USD"
    assert goal.channels == ["email", "sms"]
    assert goal.start == date(2026, 12, 1)
    assert goal.end is None
    assert goal.recency_days == 90
    assert goal.kpi == "reactivation rate"
    assert goal.objective == "Win back customers who haven't bought in 90 days via email and SMS"

    steps = {step.key: step for step in plan.steps}
    assert plan.steps[0].agent == "audience"
    assert _reaches(plan.steps, "copy", "segment")
    assert _reaches(plan.steps, "compliance", "segment")
    assert _reaches(plan.steps, "compliance", "copy")
    assert "compliance" in steps["launch"].depends_on
    assert steps["segment"].inputs["min_days_since_purchase"] == 90
    assert steps["budget"].title == "Split the $2,000 budget across email and SMS"
    assert steps["budget"].inputs == {
        "total": 2000.0,
        "currency": "USD",
        "channels": ["email", "sms"],
    }
    agents = [step.agent for step in plan.steps]
    assert agents.index("audience") < agents.index("creative") < agents.index("compliance")
    assert agents.index("compliance") < agents.index("distribution")


def test_goal_defaults_when_the_brief_is_silent() -> None:
    goal = extract_goal("Win back lapsed customers", today=TODAY)
    assert goal.channels == ["email"]
    assert goal.recency_days == 90
    assert goal.budget is None and goal.currency is None
    report = extract_goal("How did last month go?", today=TODAY)
    assert report.channels == []
    assert report.recency_days is None
    assert report.kpi == "ROAS"


def test_quoted_copy_and_past_windows_do_not_fill_campaign_slots() -> None:
    goal = extract_goal('Send "Save $20 tomorrow!" to VIP customers, $1k', today=TODAY)
    assert (goal.budget, goal.start) == (1000.0, None)
    nurture = extract_goal("Nurture trial signups from the last 30 days", today=TODAY)
    assert (nurture.start, nurture.end) == (None, None)
    report = extract_goal("Report on email in the last 30 days", today=TODAY)
    assert report.start == date(2026, 10, 22)


def test_an_empty_brief_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        plan_offline("   ", today=TODAY)


def _reaches(steps: list[StepDraft], key: str, target: str) -> bool:
    """Whether step `key` depends on `target`, directly or through other steps."""
    by_key = {step.key: step for step in steps}
    seen: set[str] = set()
    pending = list(by_key[key].depends_on)
    while pending:
        current = pending.pop()
        if current == target:
            return True
        if current not in seen:
            seen.add(current)
            pending.extend(by_key[current].depends_on)
    return False


def _goal(playbook: str, **fields: object) -> Goal:
    return Goal.model_validate({"objective": "test", "playbook": playbook, **fields})


GOAL_VARIANTS = [
    {},
    {"channels": ["email", "sms"], "budget": 2000.0, "currency": "USD"},
    {"channels": ["social", "search"], "budget": 500.0, "currency": "EUR"},
    {"channels": []},
]


@pytest.mark.parametrize("playbook", PLAYBOOKS)
@pytest.mark.parametrize("fields", GOAL_VARIANTS)
def test_every_plan_is_a_dag_that_checks_compliance_before_sending(
    playbook: str, fields: dict[str, object]
) -> None:
    steps = steps_for(_goal(playbook, **fields))
    keys = [step.key for step in steps]
    assert len(keys) == len(set(keys))
    for index, step in enumerate(steps):
        # Listed in a valid execution order: every dependency comes earlier.
        assert all(dep in keys[:index] for dep in step.depends_on), step.key
        assert f"{step.agent}.{step.kind}" in STEP_TOOLS
        assert step.title
    sends = [step for step in steps if step.kind == "launch_campaign"]
    if sends:
        (send,) = sends
        assert _reaches(steps, send.key, "compliance")
        assert _reaches(steps, "compliance", "segment")
        assert _reaches(steps, "compliance", "copy")
        assert set(send.depends_on) == set(keys) - {send.key}
    has_budget_step = any(step.key == "budget" for step in steps)
    assert has_budget_step == bool(sends and fields.get("budget") and fields.get("channels"))


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_every_playbook_plans_end_to_end(playbook: str) -> None:
    brief = next(brief for brief, expected in PLAYBOOK_BRIEFS if expected == playbook)
    plan = plan_offline(brief, today=TODAY)
    assert plan.goal.playbook == playbook
    assert plan.steps


def test_ab_test_reads_out_the_last_test_then_designs_the_next() -> None:
    planned = steps_for(_goal("ab_test", channels=["email"]))
    steps = {s.key: s for s in planned}
    assert (planned[0].key, planned[0].kind, planned[0].depends_on) == (
        "readout",
        "read_out_test",
        [],
    )
    assert steps["copy"].inputs["variants"] == 2
    assert steps["test"].agent == "experiment"
    # The design takes its baseline from the readout.
    assert set(steps["test"].depends_on) == {"readout", "segment", "copy"}
    assert "test" in steps["compliance"].depends_on


def test_review_steps_carry_the_quoted_text() -> None:
    plan = plan_offline('Review this copy: "Huge savings, act now!"', today=TODAY)
    copy, compliance = plan.steps
    assert copy.inputs["review_text"] == "Huge savings, act now!"
    assert compliance.inputs == {"scope": "content"}
    assert compliance.depends_on == ["copy"]


def test_non_sending_templates() -> None:
    audience = steps_for(_goal("audience_build", audience="VIP customers"))
    assert [s.key for s in audience] == ["segment", "compliance"]
    assert audience[1].inputs == {"scope": "audience"}
    report = steps_for(_goal("performance_report"))
    assert [(s.agent, s.kind) for s in report] == [
        ("performance", "kpi_summary"),
        ("research", "period_trends"),
    ]
    review = steps_for(_goal("budget_review"))
    assert [s.kind for s in review] == ["budget_pacing", "allocate_budget"]
    assert review[1].inputs["mode"] == "reallocate"
    assert review[1].depends_on == ["pacing"]


def test_launch_reads_trends_before_building_the_segment() -> None:
    steps = steps_for(_goal("launch", channels=["email"]))
    assert steps[0].key == "trends"
    assert steps[1].depends_on == ["trends"]


@pytest.mark.parametrize(
    ("playbook", "audience", "expected"),
    [
        ("winback", None, {"min_days_since_purchase": 90}),
        ("event_followup", "webinar attendees", {"engaged_within_days": 30}),
        ("lead_nurture", None, {"never_purchased": True, "created_within_days": 60}),
        ("promotion", "VIP customers", {"min_orders": 3}),
        ("promotion", "our best customers", {"min_orders": 3}),
        ("newsletter", "subscribers in Europe", {"regions": ["Europe"]}),
        ("promotion", "loyal customers in the US", {"min_orders": 3, "regions": ["Americas"]}),
        ("lead_nurture", "VIP leads in the UK", {"never_purchased": True, "regions": ["Europe"]}),
    ],
)
def test_segment_inputs(playbook: str, audience: str | None, expected: dict[str, object]) -> None:
    inputs = segment_inputs(_goal(playbook, audience=audience), playbook_for(playbook))
    assert expected.items() <= inputs.items()


@pytest.mark.parametrize("playbook", PLAYBOOKS)
@pytest.mark.parametrize("audience", [None, "VIP customers in Europe", "webinar attendees"])
def test_segment_inputs_are_valid_segment_rules(playbook: str, audience: str | None) -> None:
    # The audience specialist passes the hints that name SegmentRules fields straight in,
    # next to its own `channels`; they must never clash or contradict each other.
    goal = _goal(playbook, audience=audience, recency_days=60)
    hints = segment_inputs(goal, playbook_for(playbook))
    assert "channels" not in hints
    SegmentRules(
        channels=["email"], **{k: v for k, v in hints.items() if k in SegmentRules.model_fields}
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("subscribers in Europe", ["Europe"]),
        ("customers in the U.S. and UK", ["Americas", "Europe"]),
        ("customers in North America", ["Americas"]),
        ("shoppers in Australia", ["APAC"]),
        ("send us the list", []),
    ],
)
def test_regions_in(text: str, expected: list[str]) -> None:
    assert regions_in(text) == expected
