"""The distribution specialist: launch through a connector; in shadow mode, into the outbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlmodel import select

from agents.figures import format_figure
from agents.specialists.base import Comparison, Evaluation, Param, Proposal, Skill, SkillContext
from db.models import Action
from db.settings import Settings
from db.workspace_models import SegmentMember
from tools.distribution import esp_columns, export_audience_csv, queue_shadow_deliveries


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
    export_csv: bool = False
    """Also write the approved audience as a CSV file for an ESP import, under the data
    directory's exports/ folder."""


class AudienceExport(BaseModel):
    """The approved audience as a CSV file, written when the launch ran."""

    file: str
    """Absolute path of the file; re-running the launch rewrites this same file."""
    rows: int
    """Contacts written: the segment's members, less any who unsubscribed since."""
    columns: list[str]
    left_out: int
    """Segment members not written (unsubscribed after the segment was built)."""


class LaunchResult(BaseModel):
    """What a launch did: messages queued in the outbox, and the CSV export if asked for."""

    connector: str
    mode: Literal["shadow"] = "shadow"
    queued: int
    """Messages this run added to the outbox."""
    already_queued: int
    """Messages an earlier run of the same revision had already added."""
    by_channel: dict[str, int]
    skipped: int
    """Contact/channel pairs left out: no consent, unsubscribed, bounced or unknown contact."""
    export: AudienceExport | None = None
    """The audience file; None when the launch did not export."""


def _launch_params(ctx: SkillContext) -> LaunchParams:
    segment, copy = ctx.upstream.get("segment"), ctx.upstream.get("copy")
    if segment is None or copy is None:
        raise ValueError("a launch needs an executed segment and approved copy")
    schedule = ctx.upstream.get("schedule")
    schedule_result = schedule.result if schedule and schedule.result else {}
    return LaunchParams(
        segment_action_id=segment.id,
        copy_action_id=copy.id,
        schedule_action_id=schedule.id if schedule else None,
        channels=_channels(ctx),
        recipients=int((segment.result or {}).get("size", 0)),
        send_date=schedule_result.get("send_date"),
        send_hour_local=schedule_result.get("send_hour_local"),
    )


def _evidence(ctx: SkillContext, channels: list[str]) -> dict[str, Any]:
    compliance = ctx.upstream_result("compliance") or {}
    segment = ctx.upstream_result("segment") or {}
    return {
        "compliance_passed": compliance.get("passed"),
        "compliance_failed": compliance.get("failed", []),
        "needs_legal_review": compliance.get("needs_legal_review", False),
        "by_channel": segment.get("by_channel", {}),
        "mode": "shadow",
        "export_columns": ", ".join(esp_columns(channels)),
    }


def _channels(ctx: SkillContext) -> list[str]:
    """The plan's messaging channels (email when it names none)."""
    return [c for c in ctx.goal.channels if c in ("email", "sms", "push")] or ["email"]


def propose(ctx: SkillContext) -> Proposal:
    params = _launch_params(ctx)
    evidence = _evidence(ctx, params.channels)
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
    return Evaluation(params=launch.model_dump(), evidence=_evidence(ctx, launch.channels))


def execute(ctx: SkillContext, action: Action) -> LaunchResult:
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
    export = _export(ctx, action, launch, ids) if launch.export_csv else None
    return LaunchResult(connector=launch.connector, **counts.model_dump(), export=export)


def _export(
    ctx: SkillContext, action: Action, launch: LaunchParams, ids: list[int]
) -> AudienceExport:
    """Write the segment's members to exports/<plan>-<action>.csv, replacing an earlier try."""
    folder = _data_directory(ctx) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{action.plan_id}-{action.id}.csv"
    columns = esp_columns(launch.channels)
    rows = export_audience_csv(ctx.session, contact_ids=ids, path=path, columns=columns)
    return AudienceExport(file=str(path), rows=rows, columns=columns, left_out=len(set(ids)) - rows)


def _data_directory(ctx: SkillContext) -> Path:
    """Baton's data directory: where the SQLite database lives (BATON_HOME by default).

    The context does not carry the settings, so the database file is the anchor; for a
    database that is not a local file, the configured BATON_HOME.
    """
    database = ctx.session.get_bind().engine.url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        return Path(database).resolve().parent
    return Settings.from_env().home


def summarise(result: dict[str, Any]) -> str:
    """The launch in one sentence: messages written to the outbox, and the file if exported."""
    sentence = (
        f"Shadow launch: {result.get('queued', 0):,} messages written to the outbox "
        f"({format_figure('count', result.get('by_channel', {}))}); nothing left this machine."
    )
    export = result.get("export")
    if export:
        sentence += f" Audience exported: {export['rows']:,} contacts to {export['file']}."
    return sentence


SKILL = Skill(
    agent="distribution",
    kind="launch_campaign",
    risk="external",
    params_model=LaunchParams,
    result_model=LaunchResult,
    propose=propose,
    evaluate=evaluate,
    execute=execute,
    summary="launch through the outbox (external effect)",
    editable=("channels", "export_csv"),
    params={
        "channels": Param(evidence=("by_channel", "compliance_passed"), learns="exclusions"),
        "recipients": Param(
            words=("recipients", "messages", "many"),
            evidence=("by_channel", "compliance_passed"),
        ),
        "export_csv": Param(
            label="CSV export",
            heading="Export audience as CSV",
            words=("export", "csv", "file", "esp", "spreadsheet"),
            evidence=("export_columns", "by_channel"),
        ),
    },
    words=("launch", "distribution", "outbox", "shadow", "go", "live", "send", "export", "csv"),
    labels={"export_columns": "columns of the audience export"},
    comparison=Comparison(
        rows=(("channels", "channels"), ("recipients", "recipients"),
              ("messages by channel", "by_channel.*"), ("messages in all", "messages")),
        describe=lambda params: " and ".join(params.get("channels") or []),
    ),
    summarise=summarise,
    reaches_people=True,
)  # fmt: skip
