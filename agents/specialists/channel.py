"""The channel specialist: the best local send slot, when it reaches each time zone, the mix."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from agents.specialists.base import Comparison, Evaluation, Param, Proposal, Skill, SkillContext
from db.models import Action
from db.vocabulary import MESSAGING_CHANNELS, WEEKDAY_WORDS, WEEKDAYS
from tools.channel import channel_mix
from tools.schedule import SendPlan, send_plan
from tools.send_time import best_send_time, next_send_date, slot_rate


class ScheduleParams(BaseModel):
    channel: str = "email"
    send_weekday: int = Field(ge=0, le=6)
    """0 = Monday."""
    send_hour_local: int = Field(ge=0, le=23)
    """Hour in each contact's own time zone."""
    send_date: date
    timezone_basis: Literal["contact"] = "contact"


class ScheduleResult(BaseModel):
    """A scheduled send: the local slot, and when the segment's messages go out in UTC."""

    scheduled: bool
    send_date: date
    send_weekday: int
    """0 = Monday."""
    weekday_name: str
    send_hour_local: int
    channel: str
    summary: str
    """The slot in words: "Tuesday 2026-12-01 at 10:00 in each contact's time zone"."""
    send_plan: SendPlan | None = None
    """The segment's contacts per time zone and per UTC wave; None without a segment."""


def _segment(ctx: SkillContext) -> str | None:
    """The executed segment action whose stored members are the audience; None: everyone."""
    segment = ctx.upstream.get("segment")
    return segment.id if segment is not None else None


def _send_time(ctx: SkillContext, segment: str | None, channel: str) -> dict[str, Any]:
    """The best local slot, from this audience's sends or, if too few, from everyone's."""
    result = best_send_time(
        ctx.session, contact_ids=None, segment_action_id=segment, channel=channel, now=ctx.now
    )
    if result.fallback_reason and segment is not None:
        # Too little history for this audience alone: learn from every contact's sends.
        pooled = best_send_time(ctx.session, contact_ids=None, channel=channel, now=ctx.now)
        if not pooled.fallback_reason:
            return {
                **pooled.model_dump(),
                "basis": "all contacts (this audience has too little send history on its own)",
            }
    basis = "this audience" if segment is not None else "all contacts"
    return {**result.model_dump(), "basis": basis}


def _chosen_slot(
    ctx: SkillContext, segment: str | None, found: dict[str, Any], weekday: int, hour: int
) -> dict[str, Any]:
    """The open rate and past sends of the slot the parameters name, on the evidence's basis."""
    slot = slot_rate(
        ctx.session,
        contact_ids=None,
        segment_action_id=segment if found.get("basis") == "this audience" else None,
        channel=str(found.get("channel", "email")),
        now=ctx.now,
        weekday=weekday,
        hour=hour,
    )
    return {"chosen_slot_open_rate": slot.expected_open_rate, "chosen_slot_sends": slot.sends}


def _plan(ctx: SkillContext, segment: str | None, schedule: ScheduleParams) -> SendPlan | None:
    """When the segment's contacts get the message in UTC, out of the policy's quiet hours."""
    if segment is None:
        return None
    quiet = ctx.policy.quiet_hours
    return send_plan(
        ctx.session,
        segment_action_id=segment,
        send_date=schedule.send_date,
        send_hour_local=schedule.send_hour_local,
        quiet_start=quiet.start,
        quiet_end=quiet.end,
    )


def _utc(moment: datetime | None) -> str | None:
    return f"{moment:%Y-%m-%d %H:%M}" if moment is not None else None


def _mix(ctx: SkillContext, segment: str | None) -> dict[str, Any]:
    """Reach and past performance of the brief's messaging channels, when it names several."""
    channels = [c for c in ctx.goal.channels if c in MESSAGING_CHANNELS]
    if len(channels) < 2:
        return {}
    mix = channel_mix(
        ctx.session, contact_ids=None, segment_action_id=segment, now=ctx.now, channels=channels
    )
    known = [c for c in mix.channels if c.rate_basis != "none"]
    return {
        "channel_mix": mix.detail,
        "channel_reach": {c.channel: c.reachable for c in mix.channels},
        "channel_conversion_rate": {c.channel: c.conversion_rate for c in known},
        "channel_click_rate": {c.channel: c.click_rate for c in known},
        "channel_expected_conversions": {c.channel: c.expected_conversions for c in known},
        "channel_rate_basis": {c.channel: c.rate_basis for c in mix.channels},
        "channel_lookback_days": mix.lookback_days,
    }


def _plan_facts(plan: SendPlan | None) -> dict[str, Any]:
    """The send plan as flat facts a card can show: UTC times as "YYYY-MM-DD HH:MM"."""
    if plan is None:
        return {}
    return {
        "first_send_utc": _utc(plan.first_send_utc),
        "last_send_utc": _utc(plan.last_send_utc),
        "contacts_by_send_time_utc": {_utc(w.send_at_utc): w.contacts for w in plan.waves},
        "contacts_in_quiet_hours": plan.contacts_in_quiet_hours,
        "contacts_scheduled": plan.contacts,
        "quiet_hours": f"{plan.quiet_start:02d}:00-{plan.quiet_end:02d}:00",
        "send_plan": plan.detail,
    }


_CARD_FIRST = (
    "channel",
    "send_weekday",
    "send_hour_local",
    "chosen_slot_open_rate",
    "expected_open_rate",
    "global_open_rate",
    "basis",
    "fallback_reason",
    "first_send_utc",
    "last_send_utc",
    "contacts_by_send_time_utc",
    "contacts_in_quiet_hours",
    "channel_mix",
)
"""The facts a card shows first (its first eight, parameters left out): why the slot, when
it goes out in UTC, who is moved out of quiet hours, how the channels compare."""


def _evidence(
    found: dict[str, Any],
    plan: SendPlan | None,
    mix: dict[str, Any],
    chosen: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The slot, the chosen slot, the send plan and the channel mix, in card order."""
    facts = {**(chosen or {}), **_plan_facts(plan), **mix, **found}
    first = {key: facts.pop(key) for key in _CARD_FIRST if key in facts}
    return {**first, **facts}


def propose(ctx: SkillContext) -> Proposal:
    channel = next((c for c in ctx.goal.channels if c in MESSAGING_CHANNELS), "email")
    segment = _segment(ctx)
    found = _send_time(ctx, segment, channel)
    weekday, hour = int(found["send_weekday"]), int(found["send_hour_local"])
    send_date = next_send_date(today=ctx.today, start=ctx.goal.start, send_weekday=weekday)
    params = ScheduleParams(
        channel=channel, send_weekday=weekday, send_hour_local=hour, send_date=send_date
    )
    plan = _plan(ctx, segment, params)
    best_rate = float(found["expected_open_rate"])
    alternatives = [
        {
            "option": f"{WEEKDAYS[a['weekday']]} {a['hour']:02d}:00",
            "params": {"send_weekday": a["weekday"], "send_hour_local": a["hour"]},
            "expected_open_rate": a["expected_open_rate"],
            "sends": a["sends"],
            "why_not": f"expected open rate {a['expected_open_rate']:.1%} vs {best_rate:.1%}",
        }
        for a in found.get("alternatives", [])
    ]
    if found.get("fallback_reason"):
        rationale = f"{found['fallback_reason']} Defaulting to Tuesday 10:00 local time."
    else:
        rationale = (
            f"{WEEKDAYS[weekday]} at {hour:02d}:00 in each contact's time zone had the best "
            f"{channel} open rate for {found['basis']}: {best_rate:.1%} expected over "
            f"{found['sample_sends']:,} past sends (all slots: "
            f"{found['global_open_rate']:.1%}). First such day on or after the start: "
            f"{send_date.isoformat()}."
        )
    if plan is not None:
        rationale += f" {plan.detail}"
    return Proposal(
        params=params.model_dump(mode="json"),
        rationale=rationale,
        evidence=_evidence(found, plan, _mix(ctx, segment)),
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
    segment = _segment(ctx)
    found = _send_time(ctx, segment, schedule.channel)
    chosen = _chosen_slot(ctx, segment, found, schedule.send_weekday, schedule.send_hour_local)
    evidence = _evidence(found, _plan(ctx, segment, schedule), _mix(ctx, segment), chosen)
    return Evaluation(params=schedule.model_dump(mode="json"), evidence=evidence)


def execute(ctx: SkillContext, action: Action) -> ScheduleResult:
    schedule = ScheduleParams.model_validate(action.params)
    return ScheduleResult(
        scheduled=True,
        send_date=schedule.send_date,
        send_weekday=schedule.send_weekday,
        weekday_name=WEEKDAYS[schedule.send_weekday],
        send_hour_local=schedule.send_hour_local,
        channel=schedule.channel,
        summary=f"{WEEKDAYS[schedule.send_weekday]} {schedule.send_date.isoformat()} at "
        f"{schedule.send_hour_local:02d}:00 in each contact's time zone",
        send_plan=_plan(ctx, _segment(ctx), schedule),
    )


def summarise(result: dict[str, Any]) -> str:
    """The slot, then how many contacts get it between which UTC times, and quiet-hour moves."""
    sentence = f"Scheduled for {result.get('summary')}"
    plan = result.get("send_plan")
    if not plan or not plan.get("contacts"):
        return sentence + "."
    first, last = (
        datetime.fromisoformat(plan[k]).strftime("%Y-%m-%d %H:%M")
        for k in ("first_send_utc", "last_send_utc")
    )
    moved = plan.get("contacts_in_quiet_hours", 0)
    return (
        f"{sentence}: {plan['contacts']:,} contacts from {first} to {last} UTC, "
        f"{f'{moved:,}' if moved else 'none'} moved out of quiet hours."
    )


_SLOT_EVIDENCE = ("slot", "expected_open_rate", "sample_sends", "chosen_slot_open_rate",
    "chosen_slot_sends", "global_open_rate", "total_sends", "lookback_days", "basis",
    "fallback_reason")  # fmt: skip
"""What the tool found about send slots: the evidence behind the day and the hour."""
_PLAN_EVIDENCE = ("contacts_scheduled", "first_send_utc", "last_send_utc",
    "contacts_by_send_time_utc", "quiet_hours", "contacts_in_quiet_hours")  # fmt: skip
"""When the segment's messages go out in UTC: the local hour spread over its time zones."""
_MIX_EVIDENCE = ("channel_mix", "channel_reach", "channel_conversion_rate", "channel_click_rate",
    "channel_expected_conversions", "channel_rate_basis", "channel_lookback_days")  # fmt: skip
"""How the brief's messaging channels compare for this audience (plans with several)."""


def describe(params: dict[str, Any]) -> str:
    """The slot in words: "Tuesday 10:00"."""
    return f"{WEEKDAYS[int(params['send_weekday'])]} {int(params['send_hour_local']):02d}:00"


SKILL = Skill(
    agent="channel",
    kind="schedule_send",
    risk="internal",
    params_model=ScheduleParams,
    result_model=ScheduleResult,
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
            evidence=_SLOT_EVIDENCE + _PLAN_EVIDENCE,
            learns="value",
        ),
        "send_date": Param(
            label="send date",
            words=("date", "december", "january", "start"),
            evidence=("slot", "context.start", "first_send_utc", "last_send_utc"),
        ),
        "timezone_basis": Param(
            label="time zone basis",
            words=("utc", "zone", "zones", "timezone", "timezones", "quiet", "dst", "daylight",
                   "wave", "waves"),
            evidence=_PLAN_EVIDENCE,
        ),
        "channel": Param(
            words=("channel", "mix"),
            evidence=("channel", "basis", "context.channel", *_MIX_EVIDENCE),
        ),
    },
    words=("time", "hour", "day", "when", "schedule", "weekday", "date", "utc", "quiet", "zone",
           "zones", "timezone", "timezones", *WEEKDAY_WORDS),
    labels={
        "slot": "best slot the tool found",
        "expected_open_rate": "expected open rate of the best slot",
        "sample_sends": "past sends in the best slot",
        "chosen_slot_open_rate": "expected open rate of the chosen slot",
        "chosen_slot_sends": "past sends in the chosen slot",
        "global_open_rate": "open rate over all slots",
        "total_sends": "past sends looked at",
        "lookback_days": "days looked back",
        "basis": "learned from",
        "fallback_reason": "why the default slot",
        "contacts_scheduled": "contacts scheduled",
        "first_send_utc": "first send (UTC)",
        "last_send_utc": "last send (UTC)",
        "contacts_by_send_time_utc": "contacts per UTC send time",
        "quiet_hours": "quiet hours (local, from the policy)",
        "contacts_in_quiet_hours": "moved out of quiet hours",
        "send_plan": "send plan",
        "channel_mix": "channel mix",
        "channel_reach": "reachable per channel",
        "channel_conversion_rate": "conversion rate per send",
        "channel_click_rate": "click rate per send",
        "channel_expected_conversions": "expected conversions from one message each",
        "channel_rate_basis": "channel rates learned from",
        "channel_lookback_days": "days the channel mix looked back",
    },
    channel_evidence=("channel_reach.{c}", "channel_conversion_rate.{c}",
                      "channel_expected_conversions.{c}"),
    comparison=Comparison(
        rows=(("day", "send_weekday"), ("hour", "send_hour_local"), ("send date", "send_date"),
              ("expected open rate", "chosen_slot_open_rate"),
              ("past sends in that slot", "chosen_slot_sends"), ("basis", "basis"),
              ("first send (UTC)", "first_send_utc"), ("last send (UTC)", "last_send_utc"),
              ("moved out of quiet hours", "contacts_in_quiet_hours")),
        better=("expected open rate", "chosen_slot_open_rate"),
        describe=describe,
    ),
    summarise=summarise,
)  # fmt: skip
