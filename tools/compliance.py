"""Policy as code: checks on campaign copy and on audiences, each with a pass/fail and a reason."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from tools.audience import SegmentResult
from tools.creative import SMS_LIMIT, Copy, banned_phrases_in

COPY_FIELDS = ("subject", "preheader", "body", "sms_text")
UNSUBSCRIBE_PATTERN = re.compile(
    r"\{\{\s*unsubscribe_url\s*\}\}|unsubscribe[^\n]*(https?://|\{\{)", re.IGNORECASE
)
OPT_OUT_PATTERN = re.compile(r"\b(reply|text|send)\s+stop\b", re.IGNORECASE)


class Check(BaseModel):
    """One policy rule applied to one thing, and what it found."""

    rule: str
    passed: bool
    detail: str
    rule_version: str | None = None
    """Short hash of the configuration the rule read (set by the policy gate)."""


class ContentRules(BaseModel):
    """What copy must and must not contain."""

    banned_phrases: list[str] = Field(default_factory=list)
    required_disclaimers: list[str] = Field(default_factory=list)
    require_unsubscribe: bool = True
    legal_review_topics: list[str] = Field(default_factory=list)
    """Keywords (health claims, financing, sweepstakes...) that send copy to legal review."""


class ContentReview(BaseModel):
    """The checks on a piece of copy, and whether legal must review it."""

    checks: list[Check]
    needs_legal_review: bool
    legal_topics: list[str]
    """The review topics found in the copy."""

    @property
    def passed(self) -> bool:
        """True when every check passed (legal review is routed separately)."""
        return all(check.passed for check in self.checks)


def check_content(copy: Copy, rules: ContentRules, *, channels: list[str]) -> ContentReview:
    """Check copy for banned phrases, unsubscribe and opt-out text, disclaimers, review topics."""
    fields = {name: getattr(copy, name) for name in COPY_FIELDS}
    found = [
        f'"{phrase}" in {name}'
        for name, value in fields.items()
        for phrase in banned_phrases_in(value, rules.banned_phrases)
    ]
    checks = [
        Check(
            rule="banned_phrases",
            passed=not found,
            detail=f"banned phrases: {'; '.join(found)}" if found else "no banned phrases",
        )
    ]
    if "email" in channels:
        if rules.require_unsubscribe:
            has_link = bool(UNSUBSCRIBE_PATTERN.search(copy.body))
            checks.append(
                Check(
                    rule="unsubscribe_link",
                    passed=has_link,
                    detail="email body has an unsubscribe link"
                    if has_link
                    else "email body has no unsubscribe link ({{unsubscribe_url}})",
                )
            )
        missing = [d for d in rules.required_disclaimers if not _contains(copy.body, d)]
        checks.append(
            Check(
                rule="required_disclaimers",
                passed=not missing,
                detail=(
                    "missing disclaimers: " + "; ".join(f'"{d}"' for d in missing)
                    if missing
                    else f"{len(rules.required_disclaimers)} required disclaimer(s) present"
                ),
            )
        )
    if "sms" in channels:
        has_opt_out = bool(OPT_OUT_PATTERN.search(copy.sms_text))
        checks.append(
            Check(
                rule="sms_opt_out",
                passed=has_opt_out,
                detail="SMS says how to opt out"
                if has_opt_out
                else 'SMS has no opt-out instruction ("Reply STOP to opt out.")',
            )
        )
        length = len(copy.sms_text)
        checks.append(
            Check(
                rule="sms_length",
                passed=0 < length <= SMS_LIMIT,
                detail=f"SMS is {length} characters (limit {SMS_LIMIT})",
            )
        )
    topics = banned_phrases_in("\n".join(fields.values()), rules.legal_review_topics)
    return ContentReview(checks=checks, needs_legal_review=bool(topics), legal_topics=topics)


def check_audience(
    segment: SegmentResult, *, channels: list[str], max_audience: int | None
) -> list[Check]:
    """Check a built segment: consent applied, opt-outs excluded, not empty, within the limit."""
    suppressed = segment.suppressed
    reach = ", ".join(f"{channel} {segment.by_channel.get(channel, 0):,}" for channel in channels)
    checks = [
        Check(
            rule="consent",
            passed=True,
            detail=(
                f"{suppressed.get('no_consent', 0):,} without consent on "
                f"{' or '.join(channels) or 'any channel'} and {suppressed.get('bounced', 0):,} "
                f"bounced excluded; reachable: {reach or 'none'}"
            ),
        ),
        Check(
            rule="unsubscribed_excluded",
            passed=True,
            detail=f"{suppressed.get('unsubscribed', 0):,} unsubscribed contacts excluded",
        ),
        Check(
            rule="audience_not_empty",
            passed=segment.size > 0,
            detail=f"{segment.size:,} recipients of {segment.matched:,} matched",
        ),
    ]
    if max_audience is not None:
        checks.append(
            Check(
                rule="audience_size_limit",
                passed=segment.size <= max_audience,
                detail=f"{segment.size:,} recipients; the limit is {max_audience:,}",
            )
        )
    return checks


def _contains(text: str, phrase: str) -> bool:
    # Line breaks and double spaces in an edited body should not hide a disclaimer.
    def squash(value: str) -> str:
        return " ".join(value.split()).casefold()

    return squash(phrase) in squash(text)
