"""The policy gate: checks a proposal or an edit, sets its risk, approval need and approver role."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any, cast

from pydantic import BaseModel
from sqlmodel import Session

from agents.policy import Policy, Risk, Role, needs_approval
from tools.compliance import Check, ContentRules, check_content
from tools.creative import SMS_LIMIT, BrandSnapshot, Copy

COPY_FIELDS = ("subject", "preheader", "body", "sms_text", "variant_b_subject")
RULE_VERSION_CHARS = 12


class EarnedLevel(BaseModel):
    """An autonomy level confirmed for one action kind (agents/autonomy.py), as the gate uses it."""

    level: int
    detail: str
    """Who confirmed it, when and why: recorded as a policy check on what it lets run."""


class GateResult(BaseModel):
    """What the gate decided for one revision of an action."""

    checks: list[Check]
    risk: Risk
    requires_approval: bool
    required_role: Role
    """The lowest role that may approve it."""

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]


def run_gate(
    policy: Policy,
    *,
    kind: str,
    risk: Risk,
    reaches_people: bool = False,
    params: dict[str, Any],
    evidence: dict[str, Any],
    today: date,
    channels: list[str],
    content: ContentRules,
    earned: EarnedLevel | None = None,
) -> GateResult:
    """Run every policy rule that applies to these parameters and evidence.

    `reaches_people` (the kind's parameters name recipients) turns on the consent and
    audience-size checks; `earned` raises the kind's autonomy above policy.toml's (never
    lowers it).
    """
    checks: list[Check] = []
    escalate: list[str] = []
    checks += _budget_checks(policy, params, escalate)
    checks += _schedule_checks(policy, params, today)
    reach = _reach(risk) if reaches_people else None
    checks += _audience_checks(policy, reach, params, evidence, escalate)
    checks += _content_checks(content, params, channels, escalate)
    checks += _launch_checks(evidence)
    level = policy.autonomy_for(kind)
    if earned is not None and earned.level > level:
        level = earned.level
        checks.append(Check(rule="earned_autonomy", passed=True, detail=earned.detail))
    checks = with_rule_versions(checks, policy, content)
    # Spend or an audience above the thresholds needs an approver, whatever decide_role says.
    required = cast(Role, policy.role_for("decide", action_role="approver" if escalate else None))
    return GateResult(
        checks=checks,
        risk=risk,
        requires_approval=needs_approval(policy, kind=kind, risk=risk, level=level)
        or bool(escalate)
        or any(not c.passed for c in checks),
        required_role=required,
    )


def rule_config(rule: str, policy: Policy, content: ContentRules) -> Any:
    """The slice of policy and brand configuration a rule reads (None when it reads none)."""
    base, _, qualifier = rule.partition(":")
    if base == "channel_band":
        return {"channel": qualifier, "band": list(policy.band(qualifier))}
    approvals, quiet = policy.approvals, policy.quiet_hours
    readers: dict[str, Any] = {
        "budget_cap": policy.budget.max_per_plan,
        "spend_approver": approvals.spend_needs_approver_above,
        "quiet_hours": [quiet.start, quiet.end],
        "frequency_cap": policy.frequency.max_sends_per_7_days,
        "consent": policy.consent.require_channel_consent,
        "audience_approver": approvals.audience_needs_approver_above,
        "banned_phrases": content.banned_phrases,
        "unsubscribe_link": content.require_unsubscribe,
        "required_disclaimers": content.required_disclaimers,
        "legal_review": content.legal_review_topics,
        "sms_length": SMS_LIMIT,
        "earned_autonomy": policy.earned_autonomy.model_dump(mode="json"),
    }
    return readers.get(base)


def rule_version(rule: str, config: Any) -> str:
    """A short stable hash of a rule's name and the configuration it read."""
    body = json.dumps(
        {"rule": rule.partition(":")[0], "config": config}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(body.encode()).hexdigest()[:RULE_VERSION_CHARS]


def with_rule_versions(checks: list[Check], policy: Policy, content: ContentRules) -> list[Check]:
    """The checks, each stamped with the version of the rule configuration it was run against."""
    return [
        c.model_copy(
            update={"rule_version": rule_version(c.rule, rule_config(c.rule, policy, content))}
        )
        for c in checks
    ]


def _budget_checks(policy: Policy, params: dict[str, Any], escalate: list[str]) -> list[Check]:
    if "allocations" not in params:
        return []
    allocations: dict[str, float] = params["allocations"]
    total = float(params.get("budget") or sum(allocations.values()))
    currency = params.get("currency", "")
    cap = policy.budget.max_per_plan
    checks = [
        Check(
            rule="budget_cap",
            passed=total <= cap + 0.005,
            detail=f"{currency} {total:,.2f} against the policy cap of "
            f"{currency} {cap:,.2f} per plan",
        )
    ]
    for channel, amount in allocations.items():
        low, high = policy.band(channel)
        share = amount / total if total else 0.0
        checks.append(
            Check(
                rule=f"channel_band:{channel}",
                passed=low - 1e-9 <= share <= high + 1e-9,
                detail=f"{channel} gets {share:.0%} of the budget; policy band is "
                f"{low:.0%}-{high:.0%}",
            )
        )
    threshold = policy.approvals.spend_needs_approver_above
    if total > threshold:
        escalate.append("spend")
        checks.append(
            Check(
                rule="spend_approver",
                passed=True,
                detail=f"spend above {currency} {threshold:,.2f} needs the approver role",
            )
        )
    return checks


def _schedule_checks(policy: Policy, params: dict[str, Any], today: date) -> list[Check]:
    checks: list[Check] = []
    if "send_hour_local" in params and params["send_hour_local"] is not None:
        hour = int(params["send_hour_local"])
        quiet = policy.quiet_hours
        checks.append(
            Check(
                rule="quiet_hours",
                passed=not quiet.contains(hour),
                detail=f"{hour:02d}:00 local against quiet hours "
                f"{quiet.start:02d}:00-{quiet.end:02d}:00",
            )
        )
    if params.get("send_date"):
        send_date = date.fromisoformat(str(params["send_date"]))
        checks.append(
            Check(
                rule="send_date_future",
                passed=send_date > today,
                detail=f"sends on {send_date.isoformat()}; today is {today.isoformat()}",
            )
        )
    return checks


def _reach(risk: Risk) -> str:
    """Recipients of an external action are messaged; of any other, only selected."""
    return "messaged" if risk == "external" else "selected"


def _audience_checks(
    policy: Policy,
    reach: str | None,
    params: dict[str, Any],
    evidence: dict[str, Any],
    escalate: list[str],
) -> list[Check]:
    checks: list[Check] = []
    if "frequency_cap" in params:
        cap = int(params["frequency_cap"])
        limit = policy.frequency.max_sends_per_7_days
        checks.append(
            Check(
                rule="frequency_cap",
                passed=cap <= limit,
                detail=f"at most {cap} sends per contact in 7 days; policy allows {limit}",
            )
        )
    if policy.consent.require_channel_consent and "channels" in params and reach is not None:
        checks.append(
            Check(
                rule="consent",
                passed=True,
                detail="only contacts who opted in to "
                f"{' / '.join(params['channels'])} are included",
            )
        )
    size = params.get("recipients", evidence.get("size"))
    if size is not None and reach is not None:
        checks.append(
            Check(
                rule="audience_not_empty",
                passed=int(size) > 0,
                detail=f"{int(size):,} recipients after suppression",
            )
        )
        threshold = policy.approvals.audience_needs_approver_above
        if reach == "messaged" and int(size) > threshold:
            escalate.append("audience")
            checks.append(
                Check(
                    rule="audience_approver",
                    passed=True,
                    detail=f"more than {threshold:,} recipients needs the approver role",
                )
            )
    return checks


def content_for(session: Session, policy: Policy, params: dict[str, Any]) -> ContentRules:
    """The content rules the gate needs for these parameters: the brand profile is read only
    when they hold copy (the only checks that read it)."""
    if any(f in params for f in COPY_FIELDS):
        return content_rules(session, policy)
    return content_rules(None, policy)


def content_rules(session: Session | None, policy: Policy) -> ContentRules:
    """What copy must and must not contain: the policy file's rules plus the brand's (none
    without a session)."""
    content = policy.content
    if session is None:
        return ContentRules(
            banned_phrases=sorted(set(content.banned_phrases), key=str.lower),
            required_disclaimers=list(content.required_disclaimers),
            require_unsubscribe=content.require_unsubscribe,
            legal_review_topics=content.legal_review_topics,
        )
    brand = BrandSnapshot.load(session)
    return ContentRules(
        banned_phrases=sorted({*content.banned_phrases, *brand.banned_phrases}, key=str.lower),
        required_disclaimers=[*content.required_disclaimers, *brand.required_disclaimers],
        require_unsubscribe=content.require_unsubscribe,
        legal_review_topics=content.legal_review_topics,
    )


def _content_checks(
    rules: ContentRules, params: dict[str, Any], channels: list[str], escalate: list[str]
) -> list[Check]:
    if not any(f in params for f in COPY_FIELDS):
        return []
    copy = Copy(
        subject=str(params.get("subject") or ""),
        preheader=str(params.get("preheader") or ""),
        body=str(params.get("body") or ""),
        sms_text=str(params.get("sms_text") or ""),
        variant="A",
    )
    sends_sms = "sms" in channels and bool(copy.sms_text)
    review = check_content(
        copy, rules, channels=[c for c in channels or ["email"] if c != "sms" or sends_sms]
    )
    checks = list(review.checks)
    if params.get("variant_b_subject"):
        variant_b = Copy(
            subject=str(params["variant_b_subject"]),
            preheader="",
            body="",
            sms_text="",
            variant="B",
        )
        found = check_content(variant_b, rules, channels=[]).checks
        checks += [
            c.model_copy(update={"rule": f"{c.rule}:variant_b"}) for c in found if not c.passed
        ]
    if review.needs_legal_review:
        escalate.append("legal")
        checks.append(
            Check(
                rule="legal_review",
                passed=True,
                detail=f"mentions {', '.join(review.legal_topics)}: the approver role reviews it",
            )
        )
    return checks


def _launch_checks(evidence: dict[str, Any]) -> list[Check]:
    if "compliance_passed" not in evidence:
        return []
    passed = bool(evidence["compliance_passed"])
    failed = evidence.get("compliance_failed") or []
    return [
        Check(
            rule="compliance_passed",
            passed=passed,
            detail="the compliance step passed"
            if passed
            else f"the compliance step failed: {', '.join(failed)}",
        )
    ]
