"""Audience build: a segment and its consent check, nothing sent."""

from __future__ import annotations

import re

from agents.planning.goal import Goal, StepDraft
from agents.playbooks.base import Playbook, rule
from agents.playbooks.segment import segment_inputs
from agents.playbooks.steps import step

_SEND_INTENT = re.compile(
    r"\b(?:send|sends|sending|campaign|launch|blast|promote|announce|email\s+them"
    r"|text\s+them|message\s+them|reach\s+out)\b",
    re.IGNORECASE,
)


def _sends(text: str) -> bool:
    return bool(_SEND_INTENT.search(text))


def _steps(playbook: Playbook, goal: Goal, review_text: str | None) -> list[StepDraft]:
    return [
        step(
            "segment",
            "audience.build_segment",
            playbook.segment_title,
            inputs=segment_inputs(goal, playbook),
        ),
        step(
            "compliance",
            "compliance.check_campaign",
            "Check consent and suppression for the segment",
            ["segment"],
            {"scope": "audience"},
        ),
    ]


AUDIENCE_BUILD = Playbook(
    name="audience_build",
    description="build and check a segment only",
    kpi="reachable audience size",
    sends=False,
    template=_steps,
    # A request for an audience only beats campaigns when nothing is to be sent.
    rules=(
        rule(
            50,
            r"\b(?:build|create|make|define|pull|export|find|show|get|give\s+me)\s+(?:me\s+)?"
            r"(?:(?:a|an|the|my|our)\s+)?(?:[\w-]+\s+){0,3}?(?:segment|audience|list|cohort)s?\b"
            r"|\bfind\s+(?:me\s+)?(?:all\s+)?(?:the\s+|our\s+|my\s+)?(?:\w+\s+)?"
            r"(?:customers|contacts|subscribers|people|users|buyers|shoppers)\b"
            r"|\blist\s+of\b|\bwho\s+(?:are|were)\s+(?:my|our)\b"
            r"|\bhow\s+many\s+(?:\w+\s+)?(?:customers|contacts|subscribers|people|users)\b",
        ),
        rule(140, r"\b(?:segments?|audiences?|cohorts?)\b"),
    ),
    objective="Build an audience",
    audience_objective="Build an audience of {audience}",
    segment_title="Build the requested segment",
    ruled_out_by=_sends,
)
