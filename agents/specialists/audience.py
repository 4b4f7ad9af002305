"""The audience specialist: who is reached, after consent, bounce and frequency suppression."""

from __future__ import annotations

from typing import Any

from agents.figures import format_figure
from agents.specialists.base import Comparison, Evaluation, Param, Proposal, Skill, SkillContext
from db.models import Action
from db.vocabulary import MESSAGING_CHANNELS
from tools.audience import SegmentRules, classified_segment, describe_rules
from tools.rfm import NEVER_PURCHASED
from tools.segment_profile import SegmentProfile, profile_of

RECENCY_OPTIONS = (60, 90, 120, 180)


class BuiltSegment(SegmentProfile):
    """A saved segment: its counts, reach and tiers as execution found them, and its rules."""

    description: str
    """The rules as one sentence."""


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


def _evidence(rules: SegmentRules, profile: SegmentProfile) -> dict[str, Any]:
    """The card's facts, flat and in the order it shows them."""
    return {"description": describe_rules(rules), **profile.model_dump()}


def propose(ctx: SkillContext) -> Proposal:
    rules = _rules(ctx)
    # The other recency windows come from the same pass (none without a recency rule).
    with classified_segment(
        ctx.session, rules, now=ctx.now, recency_days=RECENCY_OPTIONS
    ) as segment:
        profile = profile_of(segment, rules, now=ctx.now)
        sizes = segment.window_sizes
    evidence = _evidence(rules, profile)
    alternatives = []
    if rules.min_days_since_purchase is not None:
        for days in RECENCY_OPTIONS:
            if days == rules.min_days_since_purchase:
                continue
            why = (
                "reaches fewer lapsed customers"
                if days > rules.min_days_since_purchase
                else "includes customers who bought recently and are not lapsed"
            )
            alternatives.append(
                {
                    "option": f"lapsed {days}+ days",
                    "params": {"min_days_since_purchase": days},
                    "size": sizes[days],
                    "why_not": why,
                }
            )
    return Proposal(
        params=rules.model_dump(),
        rationale=_rationale(rules, profile, evidence["description"]),
        evidence=evidence,
        alternatives=alternatives,
        context={
            "goal_audience": ctx.goal.audience,
            "channels": rules.channels,
            "hints": ctx.step.inputs,
        },
    )


def _rationale(rules: SegmentRules, profile: SegmentProfile, description: str) -> str:
    suppressed = profile.suppressed
    sentence = (
        f"{description[0].upper()}{description[1:]}: "
        f"{profile.size:,} recipients after suppressing "
        f"{sum(suppressed.values()):,} of {profile.matched:,} matching contacts "
        f"({suppressed['unsubscribed']:,} unsubscribed, {suppressed['bounced']:,} bounced, "
        f"{suppressed['no_consent']:,} without consent, "
        f"{suppressed['frequency_cap']:,} over the {rules.frequency_cap}-per-7-days cap)."
    )
    churn = profile.churn_risk
    tiers = sorted(
        ((n, label) for label, n in profile.rfm_tiers.items() if label != NEVER_PURCHASED),
        key=lambda item: -item[0],
    )
    who = []
    if churn.high + churn.medium + churn.low:
        who.append(f"churn risk {churn.high:,} high, {churn.medium:,} medium, {churn.low:,} low")
    if tiers:
        who.append("largest RFM tiers: " + ", ".join(f"{label} {n:,}" for n, label in tiers[:3]))
    return f"{sentence} Of them: {'; '.join(who)}." if who else sentence


def evaluate(ctx: SkillContext, params: dict[str, Any], changed: frozenset[str]) -> Evaluation:
    rules = SegmentRules.model_validate(params)
    with classified_segment(ctx.session, rules, now=ctx.now) as segment:
        profile = profile_of(segment, rules, now=ctx.now)
    return Evaluation(params=rules.model_dump(), evidence=_evidence(rules, profile))


def execute(ctx: SkillContext, action: Action) -> BuiltSegment:
    rules = SegmentRules.model_validate(action.params)
    with classified_segment(ctx.session, rules, now=ctx.now) as segment:
        profile = profile_of(segment, rules, now=ctx.now)
        segment.save_members(action.id)
    return BuiltSegment(description=describe_rules(rules), **profile.model_dump())


def describe(params: dict[str, Any]) -> str:
    """The segment in words: "lapsed 90+ days, email and sms"."""
    days = params.get("min_days_since_purchase")
    lapsed = f"lapsed {days}+ days, " if days is not None else ""
    return f"{lapsed}{' and '.join(params.get('channels') or [])}"


def summarise(result: dict[str, Any]) -> str:
    sentence = (
        f"Segment saved: {result.get('size', 0):,} recipients "
        f"({format_figure('count', result.get('by_channel', {}))})"
    )
    high = (result.get("churn_risk") or {}).get("high")
    if high:
        sentence += f", {high:,} of them at high churn risk"
    return sentence + "."


SKILL = Skill(
    agent="audience",
    kind="build_segment",
    risk="internal",
    params_model=SegmentRules,
    result_model=BuiltSegment,
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
            words=("days", "lapsed", "recency", "recent", "since", "long", "risk", "churn", "rfm",
                   "tier", "tiers"),
            evidence=("description", "matched", "size", "churn_risk", "rfm_tiers"),
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
            evidence=("by_channel", "reach_share", "suppressed.no_consent", "size"),
            learns="exclusions",
        ),
    },
    words=("segment", "audience", "who", "recipients", "suppress", "suppressed", "lapsed",
           "customers", "contacts", "reach", "people", "risk", "churn", "rfm", "tier", "tiers"),
    labels={"reach_share": "reach by channel (share)", "rfm_tiers": "RFM tiers",
            "churn_risk": "churn risk"},
    channel_evidence=("by_channel.{c}", "reach_share.{c}", "suppressed.no_consent"),
    comparison=Comparison(
        rows=(("recency (days since purchase)", "min_days_since_purchase"),
              ("channels", "channels"), ("matching contacts", "matched"),
              ("recipients after suppression", "size"), ("reach by channel", "by_channel.*"),
              ("suppressed", "suppressed.*"), ("churn risk", "churn_risk.*"),
              ("RFM tier", "rfm_tiers.*")),
        better=("recipients after suppression", "size"),
        describe=describe,
    ),
    summarise=summarise,
    reaches_people=True,
)  # fmt: skip
