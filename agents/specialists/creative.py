"""The creative specialist: copy in the brand voice, checked against the brand's rules."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agents.specialists.base import Comparison, Evaluation, Param, Proposal, Skill, SkillContext
from db.models import Action
from tools.creative import BrandIssue, BrandSnapshot, brand_check, draft_copy
from tools.fatigue import CampaignFatigue, FatigueReport, creative_fatigue, reused_creative

SHOWN_CREATIVES = 3
"""Creatives the card's fatigue facts name (the most fatigued first)."""
FATIGUE_SAMPLE = 5_000
"""Segment members whose sends the fatigue check reads at most (an even sample by id; the
card says how many were measured). The demo's planted tired creative stays clear at 1M
contacts (about 1,000 sends per exposure, z near -6.5), and the check costs about half of
what 10,000 members cost; at 2,500 its decay falls under the 8% line."""


class CopyParams(BaseModel):
    subject: str = Field(min_length=1, max_length=200)
    preheader: str = Field("", max_length=200)
    body: str = Field(min_length=1, max_length=10_000)
    sms_text: str = Field("", max_length=320)
    variant_b_subject: str = Field("", max_length=200)
    """A second subject line, when the plan tests one."""


class CopyResult(BaseModel):
    """Saved copy, what the brand check found in it, and the tired creative it reuses."""

    saved: bool = True
    subject: str
    preheader: str
    body: str
    sms_text: str
    variant_b_subject: str
    brand_issues: list[BrandIssue]
    tired_creative_reused: str | None = None
    """A creative fatiguing with this audience whose theme the saved copy carries."""


def _brand_issues(brand: BrandSnapshot, params: CopyParams) -> list[BrandIssue]:
    text = "\n".join(
        [params.subject, params.preheader, params.body, params.sms_text, params.variant_b_subject]
    )
    return brand_check(text, brand=brand)


def _face(params: CopyParams) -> str:
    """What a recipient sees first, where a creative's theme shows (the body is generic)."""
    return "\n".join([params.subject, params.preheader, params.variant_b_subject, params.sms_text])


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _audience_words(ctx: SkillContext) -> str:
    segment = ctx.upstream_result("segment")
    if segment and segment.get("description"):
        return str(segment["description"])
    return ctx.goal.audience or "our customers"


def _fatigue(ctx: SkillContext) -> FatigueReport | None:
    """Fatigue of the creatives the plan's audience got repeatedly; None without an audience."""
    segment = next((a for a in ctx.upstream.values() if a.tool == "build_segment"), None)
    if segment is None:
        return None
    channels = list(segment.params.get("channels") or ctx.goal.channels or ["email"])
    return creative_fatigue(
        ctx.session,
        now=ctx.now,
        segment_action_id=segment.id,
        channels=channels,
        max_contacts=FATIGUE_SAMPLE,
    )


def _tired(report: FatigueReport | None) -> list[CampaignFatigue]:
    return [c for c in report.campaigns if c.fatiguing] if report else []


def _fatigue_evidence(report: FatigueReport | None, params: CopyParams) -> dict[str, Any]:
    """Flat facts for the card: the creatives measured, the most tired one, the one reused."""
    if report is None:
        return {}
    tired = _tired(report)
    reused = reused_creative(_face(params), [c.campaign for c in report.campaigns])
    measured = [c for c in report.campaigns if c.decay_per_exposure is not None]
    shown = measured[:SHOWN_CREATIVES] + [
        c for c in measured[SHOWN_CREATIVES:] if c.campaign == reused
    ]
    evidence: dict[str, Any] = {
        "creatives_repeated": len(report.campaigns),
        "tired_creative": tired[0].campaign if tired else "none",
        "click_rate_decay": {c.campaign: c.decay_per_exposure for c in shown},
        "decay_z": {c.campaign: c.slope_z for c in shown},
        "exposures_measured": {c.campaign: c.fitted_exposures for c in shown},
        "reused_creative": reused or "none",
    }
    if tired:
        evidence["tired_click_rates"] = {
            f"exposure {e.exposure}": e.click_rate for e in tired[0].exposures
        }
        evidence["tired_sends"] = tired[0].fitted_sends
    evidence["fatiguing_creatives"] = [c.campaign for c in tired]
    evidence["contacts_measured"] = report.contacts_measured
    evidence["lookback_days"] = report.lookback_days
    return evidence


def _evidence(
    ctx: SkillContext, params: CopyParams, report: FatigueReport | None
) -> dict[str, Any]:
    """The card's facts, the same for a proposal and an edit: brand, fatigue, brand issues."""
    brand = BrandSnapshot.load(ctx.session)
    return {
        "brand": brand.name,
        **_fatigue_evidence(report, params),
        "review_of_given_text": bool(ctx.step.inputs.get("review_text")),
        "brand_issues": [issue.model_dump() for issue in _brand_issues(brand, params)],
    }


def _fatigue_rationale(report: FatigueReport | None, worn: str | None, fresh_from: str) -> str:
    """What the fatigue check found, in sentences whose numbers are all in the evidence.

    `worn` is the fatiguing creative whose theme the draft carries, or carried until
    `fresh_from`, the subject set aside for it, was replaced.
    """
    if report is None:
        return ""
    if not report.campaigns:
        return (
            f" No creative reached this audience more than once in the last "
            f"{report.lookback_days} days, so none can have worn out with it."
        )
    count = len(report.campaigns)
    if all(c.decay_per_exposure is None for c in report.campaigns):
        return (
            f" {count} creative(s) reached this audience more than once, with too few sends "
            "to measure fatigue."
        )
    tired = _tired(report)
    if not tired:
        return f" None of the {count} creative(s) this audience got repeatedly is fatiguing."
    said = f" {tired[0].sentence}"
    if worn is None:
        return said + " The drafted copy carries the theme of no fatiguing creative."
    theme = "its theme"
    if worn != tired[0].campaign:
        decay = next(c.decay_per_exposure or 0.0 for c in tired if c.campaign == worn)
        theme = (
            f"the theme of {worn}, also fatiguing (about {decay:.0%} lower click rate per repeat)"
        )
    if fresh_from:
        return said + (
            f" Variant A's subject “{fresh_from}” carries {theme}, so this draft leads with "
            "variant B's subject instead."
        )
    return said + f" This draft carries {theme}: write fresh copy before approval."


def propose(ctx: SkillContext) -> Proposal:
    brand = BrandSnapshot.load(ctx.session)
    review_text = str(ctx.step.inputs.get("review_text") or "")
    copy = draft_copy(
        brand=brand,
        playbook=ctx.goal.playbook,
        audience=_audience_words(ctx),
        offer=None,
        channels=list(ctx.goal.channels) or ["email"],
        variant="A",
    )
    params = CopyParams(
        subject=copy.subject,
        preheader=copy.preheader,
        body=review_text or copy.body,
        sms_text=copy.sms_text if "sms" in ctx.goal.channels else "",
    )
    variant_b = draft_copy(
        brand=brand,
        playbook=ctx.goal.playbook,
        audience=_audience_words(ctx),
        offer=None,
        channels=list(ctx.goal.channels) or ["email"],
        variant="B",
    )
    report = _fatigue(ctx)
    tired = [c.campaign for c in _tired(report)]
    alternatives: list[dict[str, Any]] = []
    fresh_from = ""
    worn = reused_creative(_face(params), tired)
    if int(ctx.step.inputs.get("variants", 1)) > 1:
        params.variant_b_subject = variant_b.subject
        worn = reused_creative(_face(params), tired)
    else:
        fresh = params.model_copy(update={"subject": variant_b.subject})
        if worn and not reused_creative(_face(fresh), tired):
            fresh_from, params = params.subject, fresh
            alternatives.append(
                {
                    "option": "variant A subject",
                    "subject": fresh_from,
                    "why_not": f"carries the theme of {worn}, which is fatiguing with this "
                    "audience",
                }
            )
        else:
            alternatives.append(
                {
                    "option": "variant B subject",
                    "subject": variant_b.subject,
                    "why_not": "kept as a backup: one subject line unless the plan tests",
                }
            )
    evidence = _evidence(ctx, params, report)
    issues = evidence["brand_issues"]
    rationale = (
        f"Copy in {_possessive(brand.name)} voice ({brand.voice}) for {_audience_words(ctx)}"
        + (f", with an SMS version of {len(params.sms_text)} characters" if params.sms_text else "")
        + "."
        + _fatigue_rationale(report, worn, fresh_from)
        + (
            " Brand check: no issues."
            if not issues
            else f" Brand check found {len(issues)} issue(s) to fix before approval."
        )
    )
    return Proposal(
        params=params.model_dump(),
        rationale=rationale,
        evidence=evidence,
        alternatives=alternatives,
        context={
            "playbook": ctx.goal.playbook,
            "audience": _audience_words(ctx),
            "channels": list(ctx.goal.channels),
        },
    )


def evaluate(ctx: SkillContext, params: dict[str, Any], changed: frozenset[str]) -> Evaluation:
    copy = CopyParams.model_validate(params)
    return Evaluation(params=copy.model_dump(), evidence=_evidence(ctx, copy, _fatigue(ctx)))


def execute(ctx: SkillContext, action: Action) -> CopyResult:
    copy = CopyParams.model_validate(action.params)
    tired = [str(name) for name in action.evidence.get("fatiguing_creatives") or []]
    return CopyResult(
        **copy.model_dump(),
        brand_issues=_brand_issues(BrandSnapshot.load(ctx.session), copy),
        tired_creative_reused=reused_creative(_face(copy), tired),
    )


def summarise(result: dict[str, Any]) -> str:
    """The saved subject, and a warning when the copy reuses a tired creative."""
    said = f"Copy saved: “{result.get('subject')}”."
    if result.get("tired_creative_reused"):
        said += (
            f" It carries the theme of {result['tired_creative_reused']}, which is fatiguing "
            "with this audience."
        )
    return said


_FATIGUE_EVIDENCE = (
    "reused_creative",
    "tired_creative",
    "click_rate_decay",
    "decay_z",
    "exposures_measured",
    "tired_click_rates",
    "tired_sends",
    "creatives_repeated",
    "contacts_measured",
    "lookback_days",
)

SKILL = Skill(
    agent="creative",
    kind="draft_copy",
    risk="internal",
    params_model=CopyParams,
    result_model=CopyResult,
    propose=propose,
    evaluate=evaluate,
    execute=execute,
    summary="write subject, body and SMS text in the brand voice",
    editable=("subject", "preheader", "body", "sms_text", "variant_b_subject"),
    params={
        "subject": Param(
            label="subject line",
            words=("subject", "headline", "title", "tired", "fatigue", "fatigued", "fatiguing",
                   "stale", "worn", "reuse", "reused", "repeat", "repeated"),
            evidence=(*_FATIGUE_EVIDENCE, "brand", "brand_issues"),
        ),
        "body": Param(
            words=("body", "wording", "words", "tone"),
            evidence=("brand", "brand_issues", "review_of_given_text"),
        ),
        "sms_text": Param(label="SMS text", heading="SMS text"),
    },
    words=("copy", "subject", "wording", "text", "message", "headline", "body", "words",
           "creative", "creatives", "tired", "fatigue", "fatigued", "fatiguing"),
    labels={
        "creatives_repeated": "creatives this audience got more than once",
        "tired_creative": "most fatigued creative",
        "click_rate_decay": "click rate lost per repeat",
        "decay_z": "significance of the decay (z score: strongly negative is a clear decline)",
        "exposures_measured": "exposures measured",
        "reused_creative": "creative whose theme this copy carries",
        "tired_click_rates": "click rate of the most fatigued creative",
        "tired_sends": "sends measured for the most fatigued creative",
        "contacts_measured": "audience members whose sends were measured",
    },
    comparison=Comparison(
        rows=(("subject", "subject"), ("brand issues", "brand_issues"),
              ("creative whose theme it carries", "reused_creative")),
        describe=lambda params: f"“{params.get('subject', '')}”",
    ),
    summarise=summarise,
)  # fmt: skip
