"""What a specialist skill is: propose parameters with evidence, re-evaluate edits, execute."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session

from agents.planning.goal import Goal
from agents.policy import Policy, Risk
from db.models import Action, Step


class Proposal(BaseModel):
    """A specialist's concrete proposal, before the policy gate."""

    params: dict[str, Any]
    rationale: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    """The numbers the tools found, as they were when proposed."""
    alternatives: list[dict[str, Any]] = Field(default_factory=list)
    """Options considered, each with its score and why it lost."""
    context: dict[str, Any] = Field(default_factory=dict)
    """The slice of the plan the specialist was given (for the decision record)."""


class Evaluation(BaseModel):
    """Evidence recomputed for a revision of the parameters (after an edit)."""

    params: dict[str, Any]
    """The parameters normalised (e.g. send_date recomputed from an edited weekday)."""
    evidence: dict[str, Any] = Field(default_factory=dict)


@dataclass
class SkillContext:
    """Everything a skill may look at: the goal, its step, the finished upstream actions."""

    session: Session
    goal: Goal
    step: Step
    today: date
    now: datetime
    policy: Policy
    upstream: dict[str, Action] = field(default_factory=dict)
    """Succeeded actions of the steps this one depends on (transitively), by step key."""

    def upstream_result(self, key: str) -> dict[str, Any] | None:
        action = self.upstream.get(key)
        return action.result if action is not None else None


ProposeFn = Callable[[SkillContext], Proposal]
EvaluateFn = Callable[[SkillContext, dict[str, Any], frozenset[str]], Evaluation]
"""(context, merged parameters, the top-level keys the person changed)."""
ExecuteFn = Callable[[SkillContext, Action], dict[str, Any]]


@dataclass(frozen=True)
class Skill:
    """One tool a specialist can use, with the risk of running it."""

    agent: str
    kind: str
    risk: Risk
    params_model: type[BaseModel]
    """Validates parameters, proposed or edited, before anything is stored."""
    propose: ProposeFn
    evaluate: EvaluateFn
    execute: ExecuteFn
    editable: tuple[str, ...] = ()
    """Parameter paths a person may change ("allocations.sms", "send_hour_local")."""


SKILLS: dict[str, Skill] = {}


def register(skill: Skill) -> Skill:
    SKILLS[skill.kind] = skill
    return skill


def skill_for(kind: str) -> Skill:
    """The skill for a step kind; every kind a planner emits has one."""
    _load_all()
    return SKILLS[kind]


def _load_all() -> None:
    # Importing the specialist modules registers their skills.
    from agents.specialists import (  # noqa: F401
        audience,
        channel,
        compliance,
        creative,
        distribution,
        experiment,
        performance,
        research,
    )
