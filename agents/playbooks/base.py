"""The Playbook record: everything Baton knows about one kind of plan, in one place."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from agents.planning.goal import Goal, PlaybookName, StepDraft
from db.vocabulary import Channel


@dataclass(frozen=True)
class Rule:
    """A pattern that marks a brief as asking for a playbook, and where it ranks."""

    priority: int
    """Rules of all playbooks are tried lowest priority first; the first that matches wins."""
    pattern: re.Pattern[str]
    """Matched against the brief with its typographic quotes straightened."""


def rule(priority: int, pattern: str) -> Rule:
    """A case-insensitive rule."""
    return Rule(priority, re.compile(pattern, re.IGNORECASE))


StepTemplate: TypeAlias = Callable[["Playbook", Goal, "str | None"], list[StepDraft]]
"""Lays out a playbook's steps for a goal; the third argument is the copy a brief supplied."""


@dataclass(frozen=True)
class Playbook:
    """One kind of plan: how a brief asks for it, its defaults, and the steps it runs."""

    name: PlaybookName
    description: str
    """One line for the model planner ("re-engage lapsed customers")."""
    kpi: str
    """The KPI a plan reports on when the brief names none."""
    sends: bool
    """Whether its plan ends by launching a campaign."""
    template: StepTemplate
    """Lays out its steps; read them through `steps`."""
    rules: tuple[Rule, ...]
    """How the offline planner recognises a brief for it."""
    objective: str
    """The objective when the brief names no audience ("Win back lapsed customers")."""
    audience_objective: str | None = None
    """The objective for a named audience, with an "{audience}" slot; None: `objective`."""
    channel_joiner: str = "via"
    """The word before the channels in the objective ("via email", "across search")."""
    channels: tuple[Channel, ...] = ()
    """Channels it uses when the brief names none."""
    segment_title: str = "Build the audience"
    """The title of its segment step, when it has one."""
    recency_days: int | None = None
    """Days without a purchase that make its audience lapsed when the brief does not say;
    None for a playbook that is not about lapsed buyers."""
    purchase_rules: bool = True
    """Whether its segment may filter on purchases (recency, order count)."""
    segment_hints: Mapping[str, Any] = field(default_factory=dict)
    """Fixed hints for the audience specialist, added to those read from the goal."""
    ruled_out_by: Callable[[str], bool] | None = None
    """True for a brief that is never this playbook, whatever its rules match."""

    def steps(self, goal: Goal, *, review_text: str | None = None) -> list[StepDraft]:
        """The steps for a goal of this playbook, each after the steps it depends on."""
        return self.template(self, goal, review_text)

    def objective_for(self, audience: str | None) -> str:
        """The objective for an audience (None or empty: the playbook's usual audience)."""
        if audience and self.audience_objective is not None:
            return self.audience_objective.format(audience=audience)
        return self.objective
