"""The compliance specialist: policy-as-code checks on the copy, audience and schedule."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from agents.gate import content_rules, with_rule_versions
from agents.specialists.base import Evaluation, Proposal, Skill, SkillContext
from db.models import Action
from tools.audience import SegmentResult
from tools.compliance import Check, check_audience, check_content
from tools.creative import Copy


class ComplianceParams(BaseModel):
    scope: Literal["campaign", "audience", "content"] = "campaign"
    segment_action_id: str | None = None
    copy_action_id: str | None = None
    schedule_action_id: str | None = None


class ComplianceReport(BaseModel):
    """Every policy rule run against the approved copy, audience and schedule."""

    passed: bool
    failed: list[str]
    """The rules that failed, by name."""
    needs_legal_review: bool
    checks: list[Check]


def propose(ctx: SkillContext) -> Proposal:
    params = ComplianceParams(
        scope=ctx.step.inputs.get("scope", "campaign"),
        segment_action_id=getattr(ctx.upstream.get("segment"), "id", None),
        copy_action_id=getattr(ctx.upstream.get("copy"), "id", None),
        schedule_action_id=getattr(ctx.upstream.get("schedule"), "id", None),
    )
    looked_at = [
        name
        for name, ref in (
            ("audience", params.segment_action_id),
            ("copy", params.copy_action_id),
            ("schedule", params.schedule_action_id),
        )
        if ref
    ]
    return Proposal(
        params=params.model_dump(),
        rationale=f"Check the approved {', '.join(looked_at) or 'work'} against "
        f"policy: consent, banned phrases, unsubscribe and disclaimers, "
        f"quiet hours, topics that need legal review.",
        context={"checked": looked_at},
    )


def evaluate(ctx: SkillContext, params: dict[str, Any], changed: frozenset[str]) -> Evaluation:
    return Evaluation(params=ComplianceParams.model_validate(params).model_dump())


def execute(ctx: SkillContext, action: Action) -> ComplianceReport:
    checks: list[Check] = []
    needs_legal_review = False
    channels: list[str] = list(ctx.goal.channels) or ["email"]
    rules = content_rules(ctx.session, ctx.policy)
    copy_result = ctx.upstream_result("copy")
    if copy_result:
        copy = Copy.model_validate({**copy_result, "variant": copy_result.get("variant", "A")})
        review = check_content(copy, rules, channels=channels)
        checks += review.checks
        needs_legal_review = review.needs_legal_review
    segment_result = ctx.upstream_result("segment")
    if segment_result:
        segment = SegmentResult.model_validate(segment_result)
        checks += check_audience(segment, channels=channels, max_audience=None)
    schedule = ctx.upstream_result("schedule")
    if schedule:
        hour = int(schedule["send_hour_local"])
        quiet = ctx.policy.quiet_hours
        checks.append(
            Check(
                rule="quiet_hours",
                passed=not quiet.contains(hour),
                detail=f"sends at {hour:02d}:00 local; quiet hours are {quiet.start:02d}:00-"
                f"{quiet.end:02d}:00",
            )
        )
    checks = with_rule_versions(checks, ctx.policy, rules)
    failed = [c.rule for c in checks if not c.passed]
    return ComplianceReport(
        passed=not failed, failed=failed, needs_legal_review=needs_legal_review, checks=checks
    )


SKILL = Skill(
    agent="compliance",
    kind="check_campaign",
    risk="read",
    params_model=ComplianceParams,
    result_model=ComplianceReport,
    propose=propose,
    evaluate=evaluate,
    execute=execute,
    summary="consent, suppression, banned phrases, disclaimers",
    words=("compliance", "policy", "check", "legal", "consent"),
    summarise=lambda result: (
        "Compliance passed."
        if result.get("passed")
        else f"Compliance failed: {', '.join(result.get('failed', []))}."
    ),
)
