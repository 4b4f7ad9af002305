"""The campaign template the sending playbooks share: segment, copy, checks, then launch."""

from __future__ import annotations

from typing import Any

from agents.planning.channels import channel_phrase
from agents.planning.goal import Goal, StepDraft
from agents.planning.money import money_phrase
from agents.playbooks.base import Playbook
from agents.playbooks.segment import segment_inputs
from agents.playbooks.steps import date_inputs, step


def campaign_steps(
    playbook: Playbook,
    goal: Goal,
    review_text: str | None = None,
    *,
    first: StepDraft | None = None,
    ab_test: bool = False,
) -> list[StepDraft]:
    """Build a segment and copy, check them for compliance, and only then launch.

    The launch waits on every other step. A budget step appears only when the goal has
    a budget and a channel. `first` is a step the segment waits on (a launch reads
    trends first); `ab_test` first reads out the last finished test, drafts two copy
    variants and designs the next test from the readout before the send is scheduled.
    Campaigns review no supplied copy, so `review_text` is unused.
    """
    channels = list(goal.channels)
    said = channel_phrase(channels)
    steps: list[StepDraft] = []
    segment_after: list[str] = []
    if ab_test:
        steps.append(step("readout", "experiment.read_out_test", "Read out the last A/B test"))
    if first is not None:
        steps.append(first)
        segment_after = [first.key]
    steps.append(
        step(
            "segment",
            "audience.build_segment",
            playbook.segment_title,
            segment_after,
            segment_inputs(goal, playbook),
        )
    )
    copy_inputs: dict[str, Any] = {"channels": channels} if channels else {}
    if ab_test:
        copy_inputs["variants"] = 2
        copy_title = f"Draft two {said} variants" if said else "Draft two copy variants"
    else:
        copy_title = f"Draft {said} copy" if said else "Draft the campaign copy"
    steps.append(step("copy", "creative.draft_copy", copy_title, ["segment"], copy_inputs))
    checked = ["segment", "copy"]
    schedule_after = ["segment"]
    if ab_test:
        steps.append(
            step(
                "test",
                "experiment.design_test",
                "Design the A/B test and its sample size",
                ["readout", "segment", "copy"],
                {"variants": 2, "metric": goal.kpi or "click-through rate"},
            )
        )
        checked.append("test")
        schedule_after = ["segment", "test"]
    steps.append(
        step(
            "schedule",
            "channel.schedule_send",
            "Pick the send day and hour",
            schedule_after,
            {"channels": channels, **date_inputs(goal)} if channels else date_inputs(goal),
        )
    )
    checked.append("schedule")
    if goal.budget is not None and channels:
        money = money_phrase(goal.budget, goal.currency)
        title = (
            f"Split the {money} budget across {said}"
            if len(channels) > 1
            else f"Put the {money} budget on {said}"
        )
        steps.append(
            step(
                "budget",
                "performance.allocate_budget",
                title,
                ["segment"],
                {"total": goal.budget, "currency": goal.currency, "channels": channels},
            )
        )
    steps.append(
        step(
            "compliance",
            "compliance.check_campaign",
            "Check consent, content and policy",
            checked,
            {"scope": "campaign", "channels": channels} if channels else {"scope": "campaign"},
        )
    )
    steps.append(
        step(
            "launch",
            "distribution.launch_campaign",
            "Launch the campaign",
            [s.key for s in steps],
            {"channels": channels, **date_inputs(goal)} if channels else date_inputs(goal),
        )
    )
    return steps
