"""The audience specialist: who is reached, after consent, bounce and frequency suppression."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert

from agents.planning.goal import MESSAGING_CHANNELS
from agents.specialists.base import Evaluation, Proposal, Skill, SkillContext, register
from db.models import Action, SegmentMember
from tools.audience import SegmentRules, build_segment, describe_rules, segment_contact_ids

RECENCY_OPTIONS = (60, 90, 120, 180)


def _rules(ctx: SkillContext) -> SegmentRules:
    channels = [c for c in ctx.goal.channels if c in MESSAGING_CHANNELS] or ["email"]
    hints = dict(ctx.step.inputs)
    if ctx.goal.recency_days and ctx.goal.playbook == "winback":
        hints.setdefault("min_days_since_purchase", ctx.goal.recency_days)
    return SegmentRules(
        channels=channels,
        frequency_cap=ctx.policy.frequency.max_sends_per_7_days,
        **{k: v for k, v in hints.items() if k in SegmentRules.model_fields},
    )


def _evidence(ctx: SkillContext, rules: SegmentRules) -> dict[str, Any]:
    result = build_segment(ctx.session, rules, now=ctx.now)
    return {"description": describe_rules(rules), **result.model_dump()}


def propose(ctx: SkillContext) -> Proposal:
    rules = _rules(ctx)
    evidence = _evidence(ctx, rules)
    alternatives = []
    if rules.min_days_since_purchase is not None:
        for days in RECENCY_OPTIONS:
            if days == rules.min_days_since_purchase:
                continue
            alt = build_segment(
                ctx.session, rules.model_copy(update={"min_days_since_purchase": days}), now=ctx.now
            )
            why = (
                "reaches fewer lapsed customers"
                if days > rules.min_days_since_purchase
                else "includes customers who bought recently and are not lapsed"
            )
            alternatives.append(
                {
                    "option": f"lapsed {days}+ days",
                    "params": {"min_days_since_purchase": days},
                    "size": alt.size,
                    "why_not": why,
                }
            )
    suppressed = evidence["suppressed"]
    rationale = (
        f"{evidence['description'][0].upper()}{evidence['description'][1:]}: "
        f"{evidence['size']:,} recipients after suppressing "
        f"{sum(suppressed.values()):,} of {evidence['matched']:,} matching contacts "
        f"({suppressed['unsubscribed']:,} unsubscribed, {suppressed['bounced']:,} bounced, "
        f"{suppressed['no_consent']:,} without consent, "
        f"{suppressed['frequency_cap']:,} over the {rules.frequency_cap}-per-7-days cap)."
    )
    return Proposal(
        params=rules.model_dump(),
        rationale=rationale,
        evidence=evidence,
        alternatives=alternatives,
        context={
            "goal_audience": ctx.goal.audience,
            "channels": rules.channels,
            "hints": ctx.step.inputs,
        },
    )


def evaluate(ctx: SkillContext, params: dict[str, Any], changed: frozenset[str]) -> Evaluation:
    rules = SegmentRules.model_validate(params)
    return Evaluation(params=rules.model_dump(), evidence=_evidence(ctx, rules))


def execute(ctx: SkillContext, action: Action) -> dict[str, Any]:
    rules = SegmentRules.model_validate(action.params)
    result = build_segment(ctx.session, rules, now=ctx.now)
    ids = segment_contact_ids(ctx.session, rules, now=ctx.now)
    conn = ctx.session.connection()
    conn.execute(delete(SegmentMember).where(SegmentMember.action_id == action.id))  # type: ignore[arg-type]
    if ids:
        conn.execute(
            insert(SegmentMember), [{"action_id": action.id, "contact_id": i} for i in ids]
        )
    return {"description": describe_rules(rules), **result.model_dump()}


register(
    Skill(
        agent="audience",
        kind="build_segment",
        risk="internal",
        params_model=SegmentRules,
        propose=propose,
        evaluate=evaluate,
        execute=execute,
        editable=(
            "min_days_since_purchase",
            "max_days_since_purchase",
            "min_orders",
            "min_lifetime_value",
            "channels",
            "frequency_cap",
        ),
    )
)
