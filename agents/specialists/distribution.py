"""The distribution specialist: launch through a connector; in shadow mode, into the outbox."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import select

from agents.figures import format_figure
from agents.specialists.base import Comparison, Evaluation, Param, Proposal, Skill, SkillContext
from db.models import Action, SegmentMember
from tools.distribution import queue_shadow_deliveries


class LaunchParams(BaseModel):
    segment_action_id: str
    copy_action_id: str
    schedule_action_id: str | None = None
    channels: list[str] = Field(min_length=1)
    recipients: int = Field(ge=0)
    send_date: str | None = None
    send_hour_local: int | None = None
    connector: str = "shadow"
    """Where messages go; "shadow" writes them to the outbox and nothing leaves the machine."""


def _launch_params(ctx: SkillContext) -> LaunchParams:
    segment, copy = ctx.upstream.get("segment"), ctx.upstream.get("copy")
    if segment is None or copy is None:
        raise ValueError("a launch needs an executed segment and approved copy")
    schedule = ctx.upstream.get("schedule")
    schedule_result = schedule.result if schedule and schedule.result else {}
    channels = [c for c in ctx.goal.channels if c in ("email", "sms", "push")] or ["email"]
    return LaunchParams(
        segment_action_id=segment.id,
        copy_action_id=copy.id,
        schedule_action_id=schedule.id if schedule else None,
        channels=channels,
        recipients=int((segment.result or {}).get("size", 0)),
        send_date=schedule_result.get("send_date"),
        send_hour_local=schedule_result.get("send_hour_local"),
    )


def _evidence(ctx: SkillContext) -> dict[str, Any]:
    compliance = ctx.upstream_result("compliance") or {}
    segment = ctx.upstream_result("segment") or {}
    return {
        "compliance_passed": compliance.get("passed"),
        "compliance_failed": compliance.get("failed", []),
        "needs_legal_review": compliance.get("needs_legal_review", False),
        "by_channel": segment.get("by_channel", {}),
        "mode": "shadow",
    }


def propose(ctx: SkillContext) -> Proposal:
    params = _launch_params(ctx)
    evidence = _evidence(ctx)
    when = (
        f" on {params.send_date} at {params.send_hour_local:02d}:00 local time"
        if params.send_date and params.send_hour_local is not None
        else ""
    )
    verdict = (
        "Compliance passed."
        if evidence["compliance_passed"]
        else f"Compliance failed: {', '.join(evidence['compliance_failed'])}."
    )
    return Proposal(
        params=params.model_dump(),
        rationale=f"Send the approved copy to {params.recipients:,} recipients by "
        f"{' and '.join(params.channels)}{when}. {verdict} Shadow mode: "
        f"messages go to the outbox; nothing leaves this machine.",
        evidence=evidence,
        context={"upstream": {k: a.id for k, a in ctx.upstream.items()}},
    )


def evaluate(ctx: SkillContext, params: dict[str, Any], changed: frozenset[str]) -> Evaluation:
    launch = LaunchParams.model_validate(params)
    allowed = set(_launch_params(ctx).channels)
    extra = [c for c in launch.channels if c not in allowed]
    if extra:
        raise ValueError(f"{', '.join(extra)} was not part of the approved plan")
    return Evaluation(params=launch.model_dump(), evidence=_evidence(ctx))


def execute(ctx: SkillContext, action: Action) -> dict[str, Any]:
    launch = LaunchParams.model_validate(action.params)
    copy = ctx.upstream_result("copy") or {}
    ids = list(
        ctx.session.exec(
            select(SegmentMember.contact_id).where(
                SegmentMember.action_id == launch.segment_action_id
            )
        )
    )
    payload = {
        "subject": copy.get("subject"),
        "body": copy.get("body"),
        "sms_text": copy.get("sms_text"),
        "send_date": launch.send_date,
        "send_hour_local": launch.send_hour_local,
    }
    counts = queue_shadow_deliveries(
        ctx.session,
        action_id=action.id,
        revision=action.revision,
        contact_ids=ids,
        channels=launch.channels,
        payload=payload,
        now=ctx.now,
    )
    return {"connector": launch.connector, "mode": "shadow", **counts.model_dump()}


SKILL = Skill(
    agent="distribution",
    kind="launch_campaign",
    risk="external",
    params_model=LaunchParams,
    result_model=None,
    propose=propose,
    evaluate=evaluate,
    execute=execute,
    summary="launch through the outbox (external effect)",
    editable=("channels",),
    params={
        "channels": Param(evidence=("by_channel", "compliance_passed"), learns="exclusions"),
        "recipients": Param(
            words=("recipients", "messages", "many"),
            evidence=("by_channel", "compliance_passed"),
        ),
    },
    words=("launch", "distribution", "outbox", "shadow", "go", "live", "send"),
    comparison=Comparison(
        rows=(("channels", "channels"), ("recipients", "recipients"),
              ("messages by channel", "by_channel.*"), ("messages in all", "messages")),
        describe=lambda params: " and ".join(params.get("channels") or []),
    ),
    summarise=lambda result: (
        f"Shadow launch: {result.get('queued', 0):,} messages written to the outbox "
        f"({format_figure('count', result.get('by_channel', {}))}); nothing left this machine."
    ),
    reaches_people=True,
)  # fmt: skip
