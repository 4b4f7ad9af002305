"""The audience specialist: who is reached, after consent, bounce and frequency suppression."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert

from agents.figures import format_figure
from db.vocabulary import MESSAGING_CHANNELS
from agents.specialists.base import Comparison, Evaluation, Param, Proposal, Skill, SkillContext
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


def describe(params: dict[str, Any]) -> str:
    """The segment in words: "lapsed 90+ days, email and sms"."""
    days = params.get("min_days_since_purchase")
    lapsed = f"lapsed {days}+ days, " if days is not None else ""
    return f"{lapsed}{' and '.join(params.get('channels') or [])}"


def summarise(result: dict[str, Any]) -> str:
    return (
        f"Segment saved: {result.get('size', 0):,} recipients "
        f"({format_figure('count', result.get('by_channel', {}))})."
    )


SKILL = Skill(
    agent="audience",
    kind="build_segment",
    risk="internal",
    params_model=SegmentRules,
    result_model=None,
    propose=propose,
    evaluate=evaluate,
    execute=execute,
    summary="segment contacts by recency, orders, region, consent",
    editable=(
        "min_days_since_purchase",
        "max_days_since_purchase",
        "min_orders",
        "min_lifetime_value",
        "channels",
        "frequency_cap",
    ),
    params={
        "min_days_since_purchase": Param(
            label="lapsed for at least (days)",
            words=("days", "lapsed", "recency", "recent", "since", "long"),
            evidence=("description", "matched", "size"),
            learns="value",
        ),
        "frequency_cap": Param(
            label="frequency cap",
            words=("frequency", "cap", "often", "fatigue"),
            evidence=("suppressed.frequency_cap", "size"),
            learns="value",
        ),
        "channels": Param(
            words=("consent", "reachable", "opted"),
            evidence=("by_channel", "suppressed.no_consent", "size"),
            learns="exclusions",
        ),
    },
    words=("segment", "audience", "who", "recipients", "suppress", "suppressed", "lapsed",
           "customers", "contacts", "reach", "people"),
    channel_evidence=("by_channel.{c}", "suppressed.no_consent"),
    comparison=Comparison(
        rows=(("recency (days since purchase)", "min_days_since_purchase"),
              ("channels", "channels"), ("matching contacts", "matched"),
              ("recipients after suppression", "size"), ("reach by channel", "by_channel.*"),
              ("suppressed", "suppressed.*")),
        better=("recipients after suppression", "size"),
        describe=describe,
    ),
    summarise=summarise,
    reaches_people=True,
)  # fmt: skip
