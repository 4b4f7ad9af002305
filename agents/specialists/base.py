"""What a specialist skill is: propose parameters with evidence, re-evaluate edits, execute."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, TypeAlias

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
ExecuteFn = Callable[[SkillContext, Action], BaseModel | dict[str, Any]]
"""Returns the kind's `result_model` (a plain dict only where a kind has none yet)."""
Describe: TypeAlias = Callable[[dict[str, Any]], str]
"""Parameters or a result, in a few words a marketer reads."""
Learns = Literal["value", "exclusions", "shares"]


@dataclass(frozen=True)
class Param:
    """What Baton knows about one parameter of a kind: how it reads, what points at it."""

    label: str | None = None
    """Its name in a sentence ("send day"); None: the parameter's name with spaces."""
    heading: str | None = None
    """Its name as a card's field heading, when the name itself reads badly ("mde")."""
    words: tuple[str, ...] = ()
    """Words in a question that point at this parameter ("hour", "morning")."""
    evidence: tuple[str, ...] = ()
    """Evidence keys behind its value, shown by "why" ("{c}": the channel a question names)."""
    learns: Learns | None = None
    """What an edit of it teaches: its new value, the channels it dropped, or budget shares."""


@dataclass(frozen=True)
class Comparison:
    """How "why not X?" sets this kind's chosen parameters beside an alternative."""

    rows: tuple[tuple[str, str], ...]
    """(label, parameter or evidence path; ".*" expands per key) for each row."""
    better: tuple[str, str] | None = None
    """(label, evidence key) of the measure where higher is better, for the summary."""
    describe: Describe | None = None
    """The chosen value in words ("Tuesday 10:00")."""


@dataclass(frozen=True)
class Skill:
    """One kind of action: everything Baton knows about it, in one record.

    The loop proposes, re-evaluates and executes through it; explanations, "why not",
    lessons, cards and the model planner look their knowledge up here by kind.
    """

    agent: str
    kind: str
    risk: Risk
    params_model: type[BaseModel]
    """Validates parameters, proposed or edited, before anything is stored."""
    result_model: type[BaseModel] | None
    """What execution returns; stored as its JSON, the shape `baton actions --json` shows."""
    propose: ProposeFn
    evaluate: EvaluateFn
    execute: ExecuteFn
    summary: str
    """One line for the model planner: what the tool does."""
    editable: tuple[str, ...] = ()
    """Parameter paths a person may change ("allocations.sms", "send_hour_local")."""
    params: Mapping[str, Param] = field(default_factory=dict)
    words: tuple[str, ...] = ()
    """Words in a question that point at this kind of action as a whole."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """How its evidence keys read on a card and in "why" ("rfm_tiers": "RFM tiers")."""
    channel_evidence: tuple[str, ...] = ()
    """Where its evidence says how a channel fared ("{c}" is the channel), for "why leave
    out SMS?" asked about another action of the plan."""
    comparison: Comparison | None = None
    """How "why not X?" compares an alternative; None: it does not."""
    summarise: Describe | None = None
    """Its result in one sentence, for the card."""
    reaches_people: bool = False
    """Its parameters name recipients: consent and audience-size checks apply."""

    def param(self, name: str) -> Param:
        """What is known about a parameter (an empty record for one nothing is known about)."""
        return self.params.get(name, _UNKNOWN)

    def learnable(self, learns: Learns) -> tuple[str, ...]:
        """The parameters whose edits teach lessons of this sort."""
        return tuple(name for name, p in self.params.items() if p.learns == learns)


_UNKNOWN = Param()
