"""The creative specialist: copy in the brand voice, checked against the brand's rules."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agents.specialists.base import Comparison, Evaluation, Param, Proposal, Skill, SkillContext
from db.models import Action
from tools.creative import BrandSnapshot, brand_check, draft_copy


class CopyParams(BaseModel):
    subject: str = Field(min_length=1, max_length=200)
    preheader: str = Field("", max_length=200)
    body: str = Field(min_length=1, max_length=10_000)
    sms_text: str = Field("", max_length=320)
    variant_b_subject: str = Field("", max_length=200)
    """A second subject line, when the plan tests one."""


def _brand_issues(ctx: SkillContext, params: CopyParams) -> list[dict[str, Any]]:
    brand = BrandSnapshot.load(ctx.session)
    text = "\n".join(
        [params.subject, params.preheader, params.body, params.sms_text, params.variant_b_subject]
    )
    return [issue.model_dump() for issue in brand_check(text, brand=brand)]


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _audience_words(ctx: SkillContext) -> str:
    segment = ctx.upstream_result("segment")
    if segment and segment.get("description"):
        return str(segment["description"])
    return ctx.goal.audience or "our customers"


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
    alternatives: list[dict[str, Any]] = []
    if int(ctx.step.inputs.get("variants", 1)) > 1:
        params.variant_b_subject = variant_b.subject
    else:
        alternatives.append(
            {
                "option": "variant B subject",
                "subject": variant_b.subject,
                "why_not": "kept as a backup: one subject line unless the plan tests",
            }
        )
    issues = _brand_issues(ctx, params)
    rationale = (
        f"Copy in {_possessive(brand.name)} voice ({brand.voice}) for {_audience_words(ctx)}"
        + (f", with an SMS version of {len(params.sms_text)} characters" if params.sms_text else "")
        + (
            ". Brand check: no issues."
            if not issues
            else f". Brand check found {len(issues)} issue(s) to fix before approval."
        )
    )
    return Proposal(
        params=params.model_dump(),
        rationale=rationale,
        evidence={
            "brand_issues": issues,
            "brand": brand.name,
            "review_of_given_text": bool(review_text),
        },
        alternatives=alternatives,
        context={
            "playbook": ctx.goal.playbook,
            "audience": _audience_words(ctx),
            "channels": list(ctx.goal.channels),
        },
    )


def evaluate(ctx: SkillContext, params: dict[str, Any], changed: frozenset[str]) -> Evaluation:
    copy = CopyParams.model_validate(params)
    return Evaluation(params=copy.model_dump(), evidence={"brand_issues": _brand_issues(ctx, copy)})


def execute(ctx: SkillContext, action: Action) -> dict[str, Any]:
    copy = CopyParams.model_validate(action.params)
    return {"saved": True, **copy.model_dump(), "brand_issues": _brand_issues(ctx, copy)}


SKILL = Skill(
    agent="creative",
    kind="draft_copy",
    risk="internal",
    params_model=CopyParams,
    result_model=None,
    propose=propose,
    evaluate=evaluate,
    execute=execute,
    summary="write subject, body and SMS text in the brand voice",
    editable=("subject", "preheader", "body", "sms_text", "variant_b_subject"),
    params={
        "subject": Param(
            label="subject line",
            words=("subject", "headline", "title"),
            evidence=("brand", "brand_issues"),
        ),
        "body": Param(
            words=("body", "wording", "words", "tone"),
            evidence=("brand", "brand_issues", "review_of_given_text"),
        ),
        "sms_text": Param(label="SMS text", heading="SMS text"),
    },
    words=("copy", "subject", "wording", "text", "message", "headline", "body", "words"),
    comparison=Comparison(
        rows=(("subject", "subject"), ("brand issues", "brand_issues")),
        describe=lambda params: f"“{params.get('subject', '')}”",
    ),
    summarise=lambda result: f"Copy saved: “{result.get('subject')}”.",
)
