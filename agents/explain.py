"""Answers to "why?", read from an action's decision record, never re-invented."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select

from agents.views import ActionView, load_action_views
from db.models import Action

WEEKDAY_WORDS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TOOL_WORDS: dict[str, tuple[str, ...]] = {
    "build_segment": (
        "segment",
        "audience",
        "who",
        "recipients",
        "suppress",
        "lapsed",
        "customers",
        "contacts",
        "days",
    ),
    "draft_copy": ("copy", "subject", "wording", "text", "message", "headline", "body"),
    "schedule_send": ("time", "hour", "day", "when", "schedule", "send", "weekday", *WEEKDAY_WORDS),
    "allocate_budget": ("budget", "spend", "split", "allocation", "money", "sms", "email"),
    "kpi_summary": ("kpi", "kpis", "report", "performance", "roas", "cpa"),
    "budget_pacing": ("pacing", "pace", "overspend", "underspend"),
    "period_trends": ("trend", "trends", "movers", "change"),
    "design_test": ("test", "sample", "variant", "experiment"),
    "check_campaign": ("compliance", "policy", "check", "legal", "consent"),
    "launch_campaign": ("launch", "send", "distribution", "outbox", "shadow"),
}


class Fact(BaseModel):
    label: str
    value: Any


class Explanation(BaseModel):
    """Everything the record says about why an action is what it is."""

    action: ActionView
    facts: list[Fact]
    planner: str | None
    proposed_at: str | None
    policy_hash: str | None
    context: dict[str, Any]

    def to_markdown(self) -> str:
        a = self.action
        lines = [
            f"**Why: {a.title}** — {a.agent} · `{a.tool}` · revision {a.revision} · {a.status}",
            "",
            a.rationale or "(no rationale recorded)",
        ]
        if self.facts:
            lines += ["", "**Evidence** (as the tools found it when proposed):"]
            lines += [f"- {f.label}: {format_value(f.value)}" for f in self.facts]
        if a.alternatives:
            lines += ["", "**Alternatives considered:**"]
            for alt in a.alternatives:
                score = ", ".join(
                    f"{k.replace('_', ' ')} {format_value(v)}"
                    for k, v in alt.items()
                    if k not in ("option", "why_not", "params")
                )
                lines.append(
                    f"- {alt.get('option', '?')}"
                    + (f" ({score})" if score else "")
                    + (f" — not chosen: {alt['why_not']}" if alt.get("why_not") else "")
                )
        if a.policy_checks:
            lines += ["", "**Policy checks:**"]
            lines += [
                f"- {'✓ passed' if c.passed else '✗ failed'} {c.rule}: {c.detail}"
                for c in a.policy_checks
            ]
        lines += [
            "",
            "**Lessons applied:** "
            + (", ".join(str(x.get("statement")) for x in a.lessons_applied) or "none yet"),
        ]
        if a.decisions:
            lines += ["", "**Decisions:**"]
            for d in a.decisions:
                what = {
                    "approve": "approved",
                    "auto_approve": "ran by policy (no approval needed at this autonomy level)",
                    "reject": "rejected",
                    "edit": "edited",
                }
                line = f"- revision {d.revision} {what.get(d.verdict, d.verdict)} by {d.actor}"
                if d.role not in ("system", ""):
                    line += f" ({d.role})"
                if d.changes:
                    line += ": " + "; ".join(
                        f"{k} {format_value(v[0])} → {format_value(v[1])}"
                        for k, v in d.changes.items()
                    )
                if d.reason:
                    line += f": “{d.reason}”"
                lines.append(line + f" at {d.at[:16].replace('T', ' ')} UTC")
        if a.error:
            lines += ["", f"**Failed:** {a.error}"]
        lines += [
            "",
            f"_From the decision record: planner {self.planner or '?'}, proposed "
            f"{(self.proposed_at or '?')[:16].replace('T', ' ')} UTC, policy "
            f"{(self.policy_hash or '?')[:10]}._",
        ]
        return "\n".join(lines)


def format_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.1%}" if 0 < abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {format_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def evidence_facts(evidence: dict[str, Any]) -> list[Fact]:
    """The scalar evidence and small maps, in the order the tool reported them."""
    facts: list[Fact] = []
    for key, value in evidence.items():
        if key in ("alternatives", "description"):
            continue
        if isinstance(value, dict) and all(not isinstance(v, (dict, list)) for v in value.values()):
            if value:
                facts.append(Fact(label=key.replace("_", " "), value=value))
        elif isinstance(value, (int, float, str, bool)) and value != "":
            facts.append(Fact(label=key.replace("_", " "), value=value))
    return facts


def explain(session: Session, action_id: str) -> Explanation | None:
    action = session.get(Action, action_id)
    if action is None:
        return None
    view = load_action_views(session, [action])[0]
    record = action.record or {}
    return Explanation(
        action=view,
        facts=evidence_facts(action.evidence),
        planner=record.get("planner"),
        proposed_at=record.get("proposed_at"),
        policy_hash=record.get("policy_hash"),
        context=record.get("context", {}),
    )


def resolve_action(session: Session, question: str, *, plan_id: str | None = None) -> Action | None:
    """The action a free-text "why ...?" is about: best keyword match, else the latest."""
    query = select(Action)
    if plan_id:
        query = query.where(Action.plan_id == plan_id)
    candidates = list(session.exec(query.order_by(col(Action.created_at).desc()).limit(50)))
    if not candidates:
        return None
    words = set(re.findall(r"[a-z0-9]+", question.lower()))
    id_match = next((a for a in candidates if a.id.lower() in question.lower()), None)
    if id_match:
        return id_match

    def score(action: Action) -> int:
        vocab = set(_TOOL_WORDS.get(action.tool, ())) | {action.agent}
        vocab |= set(re.findall(r"[a-z]+", action.title.lower())) - {"the", "and", "a", "to"}
        hits = len(words & vocab)
        weekday = action.params.get("send_weekday")
        if isinstance(weekday, int) and WEEKDAY_WORDS[weekday] in words:
            hits += 3
        return hits

    best = max(candidates, key=lambda a: (score(a), a.created_at))
    return best if score(best) > 0 else candidates[0]
