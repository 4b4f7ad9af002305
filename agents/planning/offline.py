"""The offline planner: deterministic intent and slot extraction from a brief, no model.

Each slot has its own extractor (money, channels, dates and recency, audience and KPI),
so each can be tested on its own; `extract_goal` composes them with the playbook the
rules of the playbook records pick, and `plan_offline` lays out that playbook's steps.
"""

from __future__ import annotations

import re
from datetime import date

from agents.planning.audience import compose_objective, extract_audience, extract_kpi
from agents.planning.channels import extract_channels
from agents.planning.dates import extract_dates, extract_recency_days
from agents.planning.goal import Goal, PlanDraft, PlaybookName
from agents.planning.money import extract_budget
from agents.planning.quotes import straighten_quotes
from agents.playbooks.base import Playbook, Rule
from agents.playbooks.registry import ALL_PLAYBOOKS, playbook_for, steps_for

# Every record's rules in one priority order; the first that matches wins. Why this order:
# a review or a test request is explicit even when the copy under review or test is a
# promotion; budget questions beat general reporting ("how is my budget pacing");
# a reporting question ("how did last month's promo do?") beats the campaign it names;
# a request for an audience only beats campaigns when nothing is to be sent; specific
# campaign types (event, winback, nurture, newsletter, a new product) beat a generic
# promotion, and the bare word "launch" ("launch a sale") only decides when nothing
# else does. Weak single words (report, segment, event) come last.
_RULES: tuple[tuple[Rule, Playbook], ...] = tuple(
    sorted(
        ((rule, playbook) for playbook in ALL_PLAYBOOKS for rule in playbook.rules),
        key=lambda pair: pair[0].priority,
    )
)
assert len({rule.priority for rule, _ in _RULES}) == len(_RULES), "rule priorities must differ"

FALLBACK_PLAYBOOK: PlaybookName = "promotion"
"""A brief that names no playbook is treated as a one-off campaign."""


def classify_playbook(text: str) -> PlaybookName:
    """The playbook a brief asks for, by the records' keyword rules in priority order.

    Priority, highest first: content_review (review/proofread this copy, brand check),
    ab_test (A/B, split test, experiment, variants), budget_review (budget review,
    reallocate, pacing, over/underspend, "how is my budget"), performance_report
    (questions: how did, KPIs, dashboard, report on, last month's), audience_build
    (build a segment, find customers who, list of; only when nothing is to be sent),
    event_followup, winback, lead_nurture, newsletter, launch (new product, introduce,
    announce), promotion (sale, promo, discount, % off, Black Friday, offer); then the
    weak single words report/results/performance, segment/audience, event, launch.
    A brief matching none is a promotion.
    """
    text = straighten_quotes(text)
    for rule, playbook in _RULES:
        if playbook.ruled_out_by is not None and playbook.ruled_out_by(text):
            continue
        if rule.pattern.search(text):
            return playbook.name
    return FALLBACK_PLAYBOOK


_QUOTED = re.compile(r"\"(?P<a>[^\"]+)\"|“(?P<b>[^”]+)”|«(?P<c>[^»]+)»")
_AFTER_COLON = re.compile(r":\s*(?P<rest>\S.*)\Z", re.DOTALL)


def extract_review_text(text: str) -> str | None:
    """The copy a brief asks to review: the first quoted passage, else what follows a colon."""
    found = _QUOTED.search(text)
    if found:
        return (found["a"] or found["b"] or found["c"]).strip()
    found = _AFTER_COLON.search(text)
    return found["rest"].strip() if found else None


def extract_goal(brief: str, *, today: date) -> Goal:
    """The structured goal of a brief, with playbook defaults where the brief is silent.

    Slots are read from the brief without its quoted passages: quoted text is copy
    ("Save $20 tomorrow!"), not instructions. A campaign cannot run in the past, so a
    sending playbook ignores a date window that ended before today ("signups from the
    last 30 days" describes the audience, not the schedule).
    """
    playbook = playbook_for(classify_playbook(brief))
    instructions = _QUOTED.sub(" ", brief)
    budget, currency = extract_budget(instructions)
    channels = extract_channels(instructions) or list(playbook.channels)
    start, end = extract_dates(instructions, today=today)
    if playbook.sends and end is not None and end < today:
        start, end = None, None
    stated_recency = extract_recency_days(instructions)
    audience = extract_audience(instructions, playbook.name, stated_recency)
    recency = stated_recency if stated_recency is not None else playbook.recency_days
    return Goal(
        objective=compose_objective(playbook.name, audience, channels),
        playbook=playbook.name,
        kpi=extract_kpi(instructions) or playbook.kpi,
        budget=budget,
        currency=currency,
        channels=channels,
        audience=audience,
        start=start,
        end=end,
        recency_days=recency,
    )


def plan_offline(brief: str, *, today: date) -> PlanDraft:
    """Plan a brief without a model: extract the goal, then lay out its playbook's steps."""
    if not brief.strip():
        raise ValueError("The brief is empty.")
    goal = extract_goal(brief, today=today)
    review_text = extract_review_text(brief) if goal.playbook == "content_review" else None
    return PlanDraft(goal=goal, steps=steps_for(goal, review_text=review_text), planner="offline")
