"""A/B test: read out the last test, then send two variants of a message and measure which wins."""

from __future__ import annotations

from agents.planning.goal import Goal, StepDraft
from agents.playbooks.base import Playbook, rule
from agents.playbooks.campaign import campaign_steps


def _steps(playbook: Playbook, goal: Goal, review_text: str | None) -> list[StepDraft]:
    return campaign_steps(playbook, goal, review_text, ab_test=True)


AB_TEST = Playbook(
    name="ab_test",
    description="A/B test a message",
    kpi="click-through rate lift",
    sends=True,
    template=_steps,
    # A test request is explicit even when the message under test is a promotion.
    rules=(
        rule(
            20,
            r"\ba\s*/\s*b(?:\s*/\s*n)?\b|\bab[- ]test|\bsplit[- ]test|\bmultivariate\b"
            r"|\bexperiment\w*|\bvariants?\b|\btest\s+(?:\w+\s+){0,2}?(?:subject\s+lines?"
            r"|headlines?|versions?|send\s+times?|offers?|ctas?|copy|images?)\b"
            r"|\bwhich\s+(?:subject\s+line|version|variant|headline)\b",
        ),
    ),
    objective="Find the better variant with an A/B test",
    audience_objective="Find the better variant with an A/B test on {audience}",
    channels=("email",),
    segment_title="Build the test audience",
)
