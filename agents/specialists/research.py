"""The research specialist: what moved and which days were unusual, in the workspace's own data."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, Field, model_validator

from agents.specialists.base import Evaluation, Param, Proposal, Skill, SkillContext
from db.models import Action
from tools.channel_anomaly import ChannelAnomaly, ChannelAnomalyReport, channel_anomalies
from tools.notes import NoteHit, search_notes
from tools.research import TrendReport, period_trends

NOTES_SHOWN = 3
ANOMALIES_SHOWN = 5
"""Anomalies listed one by one in the evidence (the result holds them all)."""
ANOMALY_WINDOW = 28
"""Days before each day that make its usual value."""


class TrendParams(BaseModel):
    days: int = Field(28, ge=7, le=183)
    """Length of each of the two periods compared."""
    start: date | None = None
    """First day checked for anomalies (None: the last `days` days)."""
    end: date | None = None
    """Last day checked for anomalies."""
    threshold: float = Field(3.5, ge=2.0, le=10.0)
    """A day is flagged when its robust z-score is at least this far from zero."""

    @model_validator(mode="after")
    def _ordered(self) -> TrendParams:
        if self.start and self.end and self.end < self.start:
            raise ValueError("the anomaly period ends before it starts")
        return self


class TrendResult(TrendReport):
    """The movers between the two periods, the unusual days of the step's period, notes."""

    anomalies: list[ChannelAnomaly]
    """Unusual days in each channel's daily spend and revenue, largest |score| first."""
    anomaly_start: date
    anomaly_end: date
    campaign_days: int
    """Anomalies set aside because the channel's own sends were unusual that day."""
    anomaly_detail: str
    notes: list[NoteHit]
    """What the team already wrote down about this kind of work, most relevant first."""


def _input_day(ctx: SkillContext, key: str, fallback: date | None) -> date | None:
    value = ctx.step.inputs.get(key)
    return date.fromisoformat(str(value)) if value else fallback


def _step_period(ctx: SkillContext) -> tuple[date, date] | None:
    """The step's own period up to yesterday; None when it has none that has begun."""
    yesterday = ctx.today - timedelta(days=1)
    start = _input_day(ctx, "start", ctx.goal.start)
    end = _input_day(ctx, "end", ctx.goal.end)
    if start is None or start > yesterday:
        return None
    return start, min(end or yesterday, yesterday)


def _recent(today: date, days: int) -> tuple[date, date]:
    """The last `days` days before today: the trend's current period."""
    return today - timedelta(days=days), today - timedelta(days=1)


def _anomalies(ctx: SkillContext, params: TrendParams) -> ChannelAnomalyReport:
    start, end = _recent(ctx.today, params.days)
    return channel_anomalies(
        ctx.session,
        start=params.start or start,
        end=params.end or end,
        window=ANOMALY_WINDOW,
        threshold=params.threshold,
    )


def _in_brief(anomaly: ChannelAnomaly) -> str:
    score = (
        f"robust z {anomaly.score:+.1f}"
        if anomaly.score is not None
        else "every usual day had the same value"
    )
    return f"{anomaly.value:,.2f} vs usual {anomaly.usual:,.2f}, {score}"


def _evidence(report: ChannelAnomalyReport) -> dict[str, Any]:
    """Flat facts a card shows: how many, the largest in words, each one by day."""
    evidence: dict[str, Any] = {"anomaly_count": len(report.anomalies)}
    if report.anomalies:
        evidence["top_anomaly"] = report.anomalies[0].sentence
        evidence["anomaly_days"] = {
            f"{a.day.isoformat()} {a.channel} {a.metric}": _in_brief(a)
            for a in report.anomalies[:ANOMALIES_SHOWN]
        }
    evidence["campaign_days"] = report.campaign_days
    return evidence


def propose(ctx: SkillContext) -> Proposal:
    days = TrendParams().days
    start, end = _step_period(ctx) or _recent(ctx.today, days)
    params = TrendParams(days=days, start=start, end=end)
    report = _anomalies(ctx, params)
    return Proposal(
        params=params.model_dump(mode="json"),
        rationale=f"Compare the last {params.days} days with the {params.days} before, by "
        f"channel, and name the biggest movers; flag the days from {start.isoformat()} to "
        f"{end.isoformat()} whose spend or revenue on a channel is {params.threshold:g} or "
        f"more robust z-scores from its usual day.",
        evidence=_evidence(report),
        context={"today": ctx.today.isoformat(), "anomaly_window": ANOMALY_WINDOW},
    )


def evaluate(ctx: SkillContext, params: dict[str, Any], changed: frozenset[str]) -> Evaluation:
    checked = TrendParams.model_validate(params)
    if "days" in changed and not changed & {"start", "end"} and _step_period(ctx) is None:
        # The period checked was the trend's current one: it follows the new length.
        start, end = _recent(ctx.today, checked.days)
        checked = checked.model_copy(update={"start": start, "end": end})
    return Evaluation(
        params=checked.model_dump(mode="json"), evidence=_evidence(_anomalies(ctx, checked))
    )


def execute(ctx: SkillContext, action: Action) -> TrendResult:
    params = TrendParams.model_validate(action.params)
    report = period_trends(ctx.session, today=ctx.today, days=params.days)
    anomalies = _anomalies(ctx, params)
    words = " ".join(w for w in (ctx.goal.objective, ctx.goal.audience or "") if w)
    return TrendResult(
        **dict(report),
        anomalies=anomalies.anomalies,
        anomaly_start=anomalies.start,
        anomaly_end=anomalies.end,
        campaign_days=anomalies.campaign_days,
        anomaly_detail=anomalies.detail,
        notes=search_notes(ctx.session, words, limit=NOTES_SHOWN),
    )


def summarise(result: dict[str, Any]) -> str:
    sentences = []
    anomalies = result.get("anomalies") or []
    if anomalies:
        more = len(anomalies) - 1
        also = f" ({more} more anomal{'y' if more == 1 else 'ies'})" if more else ""
        sentences.append(f"Anomaly: {str(anomalies[0].get('sentence')).rstrip('.')}{also}.")
    elif result.get("anomaly_detail"):
        sentences.append(str(result["anomaly_detail"]))
    movers = result.get("top_movers") or []
    notes = result.get("notes") or []
    if notes:
        titles = "; ".join(str(n.get("title")) for n in notes)
        movers = [*movers, {"sentence": f"related notes: {titles}"}]
    if movers:
        sentences.append(
            "Top movers: " + "; ".join(str(m.get("sentence", m)).rstrip(".") for m in movers) + "."
        )
    return " ".join(sentences) or "Trends computed."


ANOMALY_WORDS = (
    "anomaly",
    "anomalies",
    "anomalous",
    "flag",
    "flagged",
    "flags",
    "unusual",
    "spike",
    "spikes",
    "outlier",
    "outliers",
)

SKILL = Skill(
    agent="research",
    kind="period_trends",
    risk="read",
    params_model=TrendParams,
    result_model=TrendResult,
    propose=propose,
    evaluate=evaluate,
    execute=execute,
    summary="trends, anomalies and research notes for a period",
    editable=("days", "start", "end", "threshold"),
    params={
        "days": Param(label="days compared", heading="Days compared"),
        "start": Param(label="first day checked for anomalies", heading="Anomalies from"),
        "end": Param(label="last day checked for anomalies", heading="Anomalies to"),
        "threshold": Param(
            label="anomaly threshold (robust z-score)",
            heading="Anomaly threshold",
            words=(*ANOMALY_WORDS, "threshold"),
            evidence=("anomaly_count", "top_anomaly", "anomaly_days", "campaign_days"),
        ),
    },
    words=("trend", "trends", "movers", "change", *ANOMALY_WORDS),
    labels={
        "anomaly_count": "anomalies in daily spend and revenue",
        "top_anomaly": "largest anomaly",
        "anomaly_days": "anomalies by day",
        "campaign_days": "anomalies on campaign days (set aside)",
    },
    summarise=summarise,
)
