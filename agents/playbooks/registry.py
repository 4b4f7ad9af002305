"""The registry of playbooks: every record, in the order the vocabulary lists them."""

from __future__ import annotations

from agents.planning.goal import PLAYBOOKS, Goal, PlaybookName, StepDraft
from agents.playbooks.ab_test import AB_TEST
from agents.playbooks.audience_build import AUDIENCE_BUILD
from agents.playbooks.base import Playbook
from agents.playbooks.budget_review import BUDGET_REVIEW
from agents.playbooks.content_review import CONTENT_REVIEW
from agents.playbooks.event_followup import EVENT_FOLLOWUP
from agents.playbooks.launch import LAUNCH
from agents.playbooks.lead_nurture import LEAD_NURTURE
from agents.playbooks.newsletter import NEWSLETTER
from agents.playbooks.performance_report import PERFORMANCE_REPORT
from agents.playbooks.promotion import PROMOTION
from agents.playbooks.winback import WINBACK

ALL_PLAYBOOKS: tuple[Playbook, ...] = (
    WINBACK,
    LAUNCH,
    PROMOTION,
    NEWSLETTER,
    EVENT_FOLLOWUP,
    LEAD_NURTURE,
    BUDGET_REVIEW,
    PERFORMANCE_REPORT,
    AB_TEST,
    AUDIENCE_BUILD,
    CONTENT_REVIEW,
)
"""Every playbook, one record each; a new playbook adds its module and one line here."""

_BY_NAME: dict[str, Playbook] = {playbook.name: playbook for playbook in ALL_PLAYBOOKS}
assert tuple(_BY_NAME) == PLAYBOOKS, "the registry must list the Playbook vocabulary in order"

SENDING_PLAYBOOKS: tuple[PlaybookName, ...] = tuple(p.name for p in ALL_PLAYBOOKS if p.sends)
"""Playbooks whose plan ends by launching a campaign."""


def playbook_for(name: str) -> Playbook:
    """The playbook record with this name (ValueError when there is none)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"No playbook named {name!r}.") from None


def steps_for(goal: Goal, *, review_text: str | None = None) -> list[StepDraft]:
    """The steps of the goal's playbook, in an order that respects their dependencies.

    `review_text` is the copy a content_review brief supplied.
    """
    return playbook_for(goal.playbook).steps(goal, review_text=review_text)
