"""Every kind of action Baton can propose: an explicit list, looked up by kind."""

from __future__ import annotations

from agents.specialists import (
    audience,
    channel,
    compliance,
    creative,
    distribution,
    experiment,
    performance,
    research,
)
from agents.specialists.base import Skill

SKILLS: dict[str, Skill] = {
    skill.kind: skill
    for skill in (
        audience.SKILL,
        creative.SKILL,
        channel.SKILL,
        performance.ALLOCATE,
        performance.KPIS,
        performance.PACING,
        research.SKILL,
        experiment.READ_OUT,
        experiment.SKILL,
        compliance.SKILL,
        distribution.SKILL,
    )
}
"""Adding a kind: its module defines the Skill; one line here lists it."""


def skill_for(kind: str) -> Skill:
    """The skill for a step kind; every kind a planner emits has one."""
    return SKILLS[kind]


def step_kinds() -> tuple[str, ...]:
    """Every step a plan may hold, as "agent.kind"."""
    return tuple(f"{s.agent}.{s.kind}" for s in SKILLS.values())
