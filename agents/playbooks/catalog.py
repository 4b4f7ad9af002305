"""Step templates per playbook: which specialist does what, after which steps."""

from __future__ import annotations

import re
from typing import Any, cast

from agents.planning.goal import AgentName, Channel, Goal, Playbook, StepDraft

STEP_TOOLS: tuple[str, ...] = (
    "audience.build_segment",
    "creative.draft_copy",
    "channel.schedule_send",
    "performance.allocate_budget",
    "performance.kpi_summary",
    "performance.budget_pacing",
    "research.period_trends",
    "experiment.design_test",
    "compliance.check_campaign",
    "distribution.launch_campaign",
)
"""Every step's tool as "agent.kind"; a step's `agent` and `kind` are the two halves."""

SENDING_PLAYBOOKS: tuple[Playbook, ...] = (
    "winback",
    "launch",
    "promotion",
    "newsletter",
    "event_followup",
    "lead_nurture",
    "ab_test",
)
"""Playbooks whose plan ends by launching a campaign."""

WINBACK_RECENCY_DAYS = 90
"""Days without a purchase that make a customer lapsed, when the goal does not say."""

_SEGMENT_TITLES: dict[Playbook, str] = {
    "winback": "Build the lapsed-customer segment",
    "launch": "Build the launch audience",
    "promotion": "Build the promotion audience",
    "newsletter": "Select the newsletter subscribers",
    "event_followup": "Build the event-attendee segment",
    "lead_nurture": "Build the new-lead segment",
    "ab_test": "Build the test audience",
    "audience_build": "Build the requested segment",
}
_CHANNEL_NAMES: dict[str, str] = {
    "email": "email",
    "sms": "SMS",
    "push": "push",
    "social": "social",
    "search": "search",
    "display": "display",
    "direct_mail": "direct mail",
    "web": "web",
}
_CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
_VIP = re.compile(
    r"\b(?:vips?|loyal|best|top|most\s+valuable|high[- ]value|repeat)\b", re.IGNORECASE
)
# Segment rules filter on the contact's region, which holds macro-regions (the demo
# workspace uses Americas, Europe and APAC); a named country maps to its region.
_REGIONS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (region, re.compile(rf"(?<!\w)(?:{pattern})(?!\w)"))
    for region, pattern in (
        (
            "Americas",
            r"Americas?|American|North\s+America|Latin\s+America|LATAM|US|USA|U\.S\.(?:A\.)?"
            r"|United\s+States|Canada|Canadian|Mexico|Brazil",
        ),
        (
            "Europe",
            r"[Ee]urope|European|EU|EMEA|UK|U\.K\.|United\s+Kingdom|Britain|British|Germany"
            r"|German|France|French|Spain|Italy|Netherlands",
        ),
        ("APAC", r"APAC|Asia|Asian|Asia-Pacific|Australia|Australian|Japan|Singapore"),
    )
)


def channel_phrase(channels: list[Channel]) -> str:
    """Channels as words: "email", "email and SMS", "email, SMS and push"."""
    names = [_CHANNEL_NAMES[channel] for channel in channels]
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def regions_in(text: str) -> list[str]:
    """Regions named in an audience description: "subscribers in Europe" -> ["Europe"],
    "customers in the US and UK" -> ["Americas", "Europe"]."""
    return [region for region, pattern in _REGIONS if pattern.search(text)]


def _money(amount: float, currency: str | None) -> str:
    number = f"{amount:,.0f}" if amount == int(amount) else f"{amount:,.2f}"
    symbol = _CURRENCY_SYMBOLS.get(currency or "")
    return f"{symbol}{number}" if symbol else f"{number} {currency or ''}".strip()


def _step(
    key: str,
    tool: str,
    title: str,
    depends_on: list[str] | None = None,
    inputs: dict[str, Any] | None = None,
) -> StepDraft:
    if tool not in STEP_TOOLS:
        raise ValueError(f"Unknown step tool {tool!r}.")
    agent, kind = tool.split(".")
    return StepDraft(
        key=key,
        agent=cast(AgentName, agent),
        kind=kind,
        title=title,
        depends_on=depends_on or [],
        inputs=inputs or {},
    )


def _dates(goal: Goal) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if goal.start:
        found["start"] = goal.start.isoformat()
    if goal.end:
        found["end"] = goal.end.isoformat()
    return found


def segment_inputs(goal: Goal) -> dict[str, Any]:
    """Hints for the audience specialist, read from the goal's playbook and audience."""
    inputs: dict[str, Any] = {}
    if goal.audience:
        inputs["description"] = goal.audience
    if goal.playbook == "lead_nurture":
        # Leads have not bought yet; purchase rules would contradict that.
        inputs["never_purchased"] = True
        inputs["created_within_days"] = 60
    else:
        recency = goal.recency_days
        if recency is None and goal.playbook == "winback":
            recency = WINBACK_RECENCY_DAYS
        if recency is not None:
            inputs["min_days_since_purchase"] = recency
        if goal.audience and _VIP.search(goal.audience):
            inputs["min_orders"] = 3
    if goal.playbook == "event_followup":
        inputs["engaged_within_days"] = 30
    regions = regions_in(goal.audience or "")
    if regions:
        inputs["regions"] = regions
    return inputs


def _campaign_steps(goal: Goal) -> list[StepDraft]:
    channels = list(goal.channels)
    said = channel_phrase(channels)
    steps: list[StepDraft] = []
    segment_after: list[str] = []
    if goal.playbook == "launch":
        steps.append(
            _step(
                "trends",
                "research.period_trends",
                "Read recent trends for the launch",
                inputs={"channels": channels} if channels else {},
            )
        )
        segment_after = ["trends"]
    steps.append(
        _step(
            "segment",
            "audience.build_segment",
            _SEGMENT_TITLES[goal.playbook],
            segment_after,
            segment_inputs(goal),
        )
    )
    copy_inputs: dict[str, Any] = {"channels": channels} if channels else {}
    if goal.playbook == "ab_test":
        copy_inputs["variants"] = 2
        copy_title = f"Draft two {said} variants" if said else "Draft two copy variants"
    else:
        copy_title = f"Draft {said} copy" if said else "Draft the campaign copy"
    steps.append(_step("copy", "creative.draft_copy", copy_title, ["segment"], copy_inputs))
    checked = ["segment", "copy"]
    schedule_after = ["segment"]
    if goal.playbook == "ab_test":
        steps.append(
            _step(
                "test",
                "experiment.design_test",
                "Design the A/B test and its sample size",
                ["segment", "copy"],
                {"variants": 2, "metric": goal.kpi or "click-through rate"},
            )
        )
        checked.append("test")
        schedule_after = ["segment", "test"]
    steps.append(
        _step(
            "schedule",
            "channel.schedule_send",
            "Pick the send day and hour",
            schedule_after,
            {"channels": channels, **_dates(goal)} if channels else _dates(goal),
        )
    )
    checked.append("schedule")
    if goal.budget is not None and channels:
        money = _money(goal.budget, goal.currency)
        title = (
            f"Split the {money} budget across {said}"
            if len(channels) > 1
            else f"Put the {money} budget on {said}"
        )
        steps.append(
            _step(
                "budget",
                "performance.allocate_budget",
                title,
                ["segment"],
                {"total": goal.budget, "currency": goal.currency, "channels": channels},
            )
        )
    steps.append(
        _step(
            "compliance",
            "compliance.check_campaign",
            "Check consent, content and policy",
            checked,
            {"scope": "campaign", "channels": channels} if channels else {"scope": "campaign"},
        )
    )
    steps.append(
        _step(
            "launch",
            "distribution.launch_campaign",
            "Launch the campaign",
            [step.key for step in steps],
            {"channels": channels, **_dates(goal)} if channels else _dates(goal),
        )
    )
    return steps


def steps_for(goal: Goal, *, review_text: str | None = None) -> list[StepDraft]:
    """The steps of the goal's playbook, in an order that respects their dependencies.

    Campaign playbooks build a segment and copy, check them for compliance, and only
    then launch; the launch waits on every other step. A budget step appears only
    when the goal has a budget and a channel. `review_text` is the copy a
    content_review brief supplied.
    """
    channels = list(goal.channels)
    if goal.playbook in SENDING_PLAYBOOKS:
        return _campaign_steps(goal)
    if goal.playbook == "audience_build":
        return [
            _step(
                "segment",
                "audience.build_segment",
                _SEGMENT_TITLES["audience_build"],
                inputs=segment_inputs(goal),
            ),
            _step(
                "compliance",
                "compliance.check_campaign",
                "Check consent and suppression for the segment",
                ["segment"],
                {"scope": "audience"},
            ),
        ]
    if goal.playbook == "content_review":
        copy_inputs: dict[str, Any] = {"review_text": review_text} if review_text else {}
        if channels:
            copy_inputs["channels"] = channels
        return [
            _step("copy", "creative.draft_copy", "Review the supplied copy", inputs=copy_inputs),
            _step(
                "compliance",
                "compliance.check_campaign",
                "Check the copy against brand and policy rules",
                ["copy"],
                {"scope": "content"},
            ),
        ]
    scope: dict[str, Any] = {"channels": channels} if channels else {}
    if goal.playbook == "performance_report":
        kpi_title = f"Summarise {channel_phrase(channels)} KPIs" if channels else "Summarise KPIs"
        return [
            _step("kpis", "performance.kpi_summary", kpi_title, inputs={**scope, **_dates(goal)}),
            _step(
                "trends",
                "research.period_trends",
                "Find the trends and anomalies behind the numbers",
                ["kpis"],
                {**scope, **_dates(goal)},
            ),
        ]
    if goal.playbook == "budget_review":
        reallocate: dict[str, Any] = {"mode": "reallocate", **scope}
        if goal.budget is not None:
            reallocate |= {"total": goal.budget, "currency": goal.currency}
        return [
            _step(
                "pacing",
                "performance.budget_pacing",
                "Check budget pacing by channel",
                inputs={**scope, **_dates(goal)},
            ),
            _step(
                "reallocate",
                "performance.allocate_budget",
                "Propose a reallocation within the policy bands",
                ["pacing"],
                reallocate,
            ),
        ]
    raise ValueError(f"No step template for playbook {goal.playbook!r}.")
