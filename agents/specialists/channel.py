"""The channel specialist: the weekday and local hour with the best expected open rate."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlmodel import select

from agents.figures import WEEKDAYS
from agents.planning.goal import MESSAGING_CHANNELS
from agents.specialists.base import Comparison, Evaluation, Param, Proposal, Skill, SkillContext
from db.models import Action, SegmentMember
from tools.channel import best_send_time, next_send_date, slot_rate


class ScheduleParams(BaseModel):
    channel: str = "email"
    send_weekday: int = Field(ge=0, le=6)
    """0 = Monday."""
    send_hour_local: int = Field(ge=0, le=23)
    """Hour in each contact's own time zone."""
    send_date: date
    timezone_basis: Literal["contact"] = "contact"


def _segment_ids(ctx: SkillContext) -> list[int] | None:
    segment = ctx.upstream.get("segment")
    if segment is None:
        return None
    rows = ctx.session.exec(
        select(SegmentMember.contact_id).where(SegmentMember.action_id == segment.id)
    )
    return list(rows)


def _evidence(ctx: SkillContext, channel: str) -> dict[str, Any]:
    ids = _segment_ids(ctx)
    result = best_send_time(ctx.session, contact_ids=ids, channel=channel, now=ctx.now)
    if result.fallback_reason and ids is not None:
        # Too little history for this audience alone: learn from every contact's sends.
        pooled = best_send_time(ctx.session, contact_ids=None, channel=channel, now=ctx.now)
        if not pooled.fallback_reason:
            return {
                **pooled.model_dump(),
                "basis": "all contacts (this audience has too little send history on its own)",
            }
    return {**result.model_dump(), "basis": "this audience" if ids is not None else "all contacts"}


def _chosen_slot(
    ctx: SkillContext, evidence: dict[str, Any], weekday: int, hour: int
) -> dict[str, Any]:
    """The open rate and past sends of the slot the parameters name, on the evidence's basis."""
    ids = _segment_ids(ctx) if evidence.get("basis") == "this audience" else None
    slot = slot_rate(
        ctx.session,
        contact_ids=ids,
        channel=str(evidence.get("channel", "email")),
        now=ctx.now,
        weekday=weekday,
        hour=hour,
    )
    return {"chosen_slot_open_rate": slot.expected_open_rate, "chosen_slot_sends": slot.sends}


def propose(ctx: SkillContext) -> Proposal:
    channel = next((c for c in ctx.goal.channels if c in MESSAGING_CHANNELS), "email")
    evidence = _evidence(ctx, channel)
    weekday, hour = int(evidence["send_weekday"]), int(evidence["send_hour_local"])
    send_date = next_send_date(today=ctx.today, start=ctx.goal.start, send_weekday=weekday)
    best_rate = float(evidence["expected_open_rate"])
    alternatives = [
        {
            "option": f"{WEEKDAYS[a['weekday']]} {a['hour']:02d}:00",
            "params": {"send_weekday": a["weekday"], "send_hour_local": a["hour"]},
            "expected_open_rate": a["expected_open_rate"],
            "sends": a["sends"],
            "why_not": f"expected open rate {a['expected_open_rate']:.1%} vs {best_rate:.1%}",
        }
        for a in evidence.get("alternatives", [])
    ]
    if evidence.get("fallback_reason"):
        rationale = f"{evidence['fallback_reason']} Defaulting to Tuesday 10:00 local time."
    else:
        rationale = (
            f"{WEEKDAYS[weekday]} at {hour:02d}:00 in each contact's time zone had the best "
            f"{channel} open rate for {evidence['basis']}: {best_rate:.1%} expected over "
            f"{evidence['sample_sends']:,} past sends (all slots: "
            f"{evidence['global_open_rate']:.1%}). First such day on or after the start: "
            f"{send_date.isoformat()}."
        )
    params = ScheduleParams(
        channel=channel, send_weekday=weekday, send_hour_local=hour, send_date=send_date
    )
    return Proposal(
        params=params.model_dump(mode="json"),
        rationale=rationale,
        evidence=evidence,
        alternatives=alternatives,
        context={
            "channel": channel,
            "start": str(ctx.goal.start),
            "segment_action": getattr(ctx.upstream.get("segment"), "id", None),
        },
    )


def evaluate(ctx: SkillContext, params: dict[str, Any], changed: frozenset[str]) -> Evaluation:
    schedule = ScheduleParams.model_validate(params)
    if schedule.send_date.weekday() != schedule.send_weekday or "send_weekday" in changed:
        schedule.send_date = next_send_date(
            today=ctx.today, start=ctx.goal.start, send_weekday=schedule.send_weekday
        )
    evidence = _evidence(ctx, schedule.channel)
    evidence.update(_chosen_slot(ctx, evidence, schedule.send_weekday, schedule.send_hour_local))
    return Evaluation(params=schedule.model_dump(mode="json"), evidence=evidence)


def execute(ctx: SkillContext, action: Action) -> dict[str, Any]:
    schedule = ScheduleParams.model_validate(action.params)
    return {
        "scheduled": True,
        "send_date": schedule.send_date.isoformat(),
        "send_weekday": schedule.send_weekday,
        "weekday_name": WEEKDAYS[schedule.send_weekday],
        "send_hour_local": schedule.send_hour_local,
        "channel": schedule.channel,
        "summary": f"{WEEKDAYS[schedule.send_weekday]} {schedule.send_date.isoformat()} at "
        f"{schedule.send_hour_local:02d}:00 in each contact's time zone",
    }


WEEKDAY_WORDS = tuple(day.lower() for day in WEEKDAYS)
_SLOT_EVIDENCE = ("slot", "expected_open_rate", "sample_sends", "chosen_slot_open_rate",
    "chosen_slot_sends", "global_open_rate", "total_sends", "lookback_days", "basis",
    "fallback_reason")  # fmt: skip
"""What the tool found about send slots: the evidence behind the day and the hour."""


def describe(params: dict[str, Any]) -> str:
    """The slot in words: "Tuesday 10:00"."""
    return f"{WEEKDAYS[int(params['send_weekday'])]} {int(params['send_hour_local']):02d}:00"


SKILL = Skill(
    agent="channel",
    kind="schedule_send",
    risk="internal",
    params_model=ScheduleParams,
    result_model=None,
    propose=propose,
    evaluate=evaluate,
    execute=execute,
    summary="best weekday and local hour to send, per segment",
    editable=("send_weekday", "send_hour_local"),
    params={
        "send_weekday": Param(
            label="send day",
            words=("day", "weekday", "weekend", *WEEKDAY_WORDS),
            evidence=_SLOT_EVIDENCE,
            learns="value",
        ),
        "send_hour_local": Param(
            label="send hour",
            words=("hour", "time", "am", "pm", "morning", "afternoon", "evening", "night",
                   "noon", "clock", "oclock"),
            evidence=_SLOT_EVIDENCE,
            learns="value",
        ),
        "send_date": Param(
            label="send date",
            words=("date", "december", "january", "start"),
            evidence=("slot", "context.start"),
        ),
        "channel": Param(evidence=("channel", "basis", "context.channel")),
    },
    words=("time", "hour", "day", "when", "schedule", "weekday", "date", *WEEKDAY_WORDS),
    comparison=Comparison(
        rows=(("day", "send_weekday"), ("hour", "send_hour_local"), ("send date", "send_date"),
              ("expected open rate", "chosen_slot_open_rate"),
              ("past sends in that slot", "chosen_slot_sends"), ("basis", "basis")),
        better=("expected open rate", "chosen_slot_open_rate"),
        describe=describe,
    ),
    summarise=lambda result: f"Scheduled for {result.get('summary')}.",
)  # fmt: skip
