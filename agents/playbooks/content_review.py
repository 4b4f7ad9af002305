"""Content review: check supplied copy against the brand and policy rules."""

from __future__ import annotations

from typing import Any

from agents.planning.goal import Goal, StepDraft
from agents.playbooks.base import Playbook, rule
from agents.playbooks.steps import step


def _steps(playbook: Playbook, goal: Goal, review_text: str | None) -> list[StepDraft]:
    copy_inputs: dict[str, Any] = {"review_text": review_text} if review_text else {}
    if goal.channels:
        copy_inputs["channels"] = list(goal.channels)
    return [
        step("copy", "creative.draft_copy", "Review the supplied copy", inputs=copy_inputs),
        step(
            "compliance",
            "compliance.check_campaign",
            "Check the copy against brand and policy rules",
            ["copy"],
            {"scope": "content"},
        ),
    ]


CONTENT_REVIEW = Playbook(
    name="content_review",
    description="review supplied copy only",
    kpi="brand and compliance pass rate",
    sends=False,
    template=_steps,
    # A review request is explicit even when the copy under review is a promotion.
    rules=(
        rule(
            10,
            r"\bproof-?read\w*|\b(?:review|check|look\s+over|critique|edit|improve)\s+"
            r"(?:this|these|the|my|our)\s+(?:[\w-]+\s+){0,2}?(?:copy|e-?mails?|texts?|drafts?"
            r"|messages?|subject\s+lines?|ads?|headlines?|posts?|sms|wording)\b"
            r"(?!\s+(?:performance|results|metrics|numbers|stats|kpis?|open|click|campaign))"
            r"|\bbrand\s+(?:check|voice\s+check|review)\b|\bis\s+this\s+(?:\w+\s+)?"
            r"(?:on[- ]brand|compliant)\b|\bon[- ]brand\s*\?",
        ),
    ),
    objective="Review the copy for brand voice and compliance",
)
