"""Answers to "why?", read from an action's decision record, never re-invented.

Every number an answer prints is a value from the record (the action's parameters,
evidence, alternatives, policy checks, lessons and decisions, its plan's goal and day),
formatted by `format_figure`, so a reader can trace each one back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from agents.figures import format_figure, lookup, shown_value
from agents.markdown import plain
from agents.specialists.registry import skill_for
from agents.views import ActionView, DecisionView, load_action_views
from agents.why.question import Target, plan_actions, resolve_action, resolve_target
from db.memory_models import Lesson
from db.models import Action, Plan

__all__ = [
    "Explanation",
    "Fact",
    "Focus",
    "evidence_facts",
    "explain",
    "format_figure",
    "resolve_action",
]

_LABELS = {
    "lookback_days": "days looked back",
    "basis": "learned from",
    "matched": "contacts matching the rules",
    "size": "recipients after suppression",
    "by_channel": "reachable by",
    "expected_conversions": "expected conversions",
}
_SLOT_KEYS = ("send_weekday", "send_hour_local", "weekday_name")
"""What the synthesised "slot" fact already says."""
_VERDICTS = {
    "approve": "approved",
    "auto_approve": "ran by policy (no approval needed at this autonomy level)",
    "reject": "rejected",
    "edit": "edited",
}


class Fact(BaseModel):
    label: str
    value: Any
    key: str | None = None
    """The record's key for the value (it decides how the number is shown)."""
    source: str | None = None
    """Where the value is recorded when not on the explained action: an action id or "plan"."""
    source_title: str | None = None


class Focus(BaseModel):
    """The parameter a question is about, its value, and the evidence behind it."""

    param: str
    """A parameter path: "send_weekday", "allocations.sms"."""
    value: Any
    shown: str
    """The value as a person reads it ("Tuesday", "09:00 local", "USD 417.30")."""
    evidence: list[Fact]
    alternatives: list[dict[str, Any]]
    """Alternatives the specialist considered for this parameter."""
    lessons: list[dict[str, Any]] = Field(default_factory=list)
    """The applied lessons that set this parameter (entries of the action's lessons_applied)."""
    excluded_channel: str | None = None
    """Set when the question asked why a channel was left out."""
    channel_included: bool = False
    """For such questions: whether the parameter in fact includes the channel."""


class Explanation(BaseModel):
    """Everything the record says about why an action is what it is."""

    action: ActionView
    facts: list[Fact]
    planner: str | None
    proposed_at: str | None
    policy_hash: str | None
    context: dict[str, Any]
    question: str = ""
    focus: Focus | None = None
    today: str | None = None
    """The plan's pinned day."""

    def to_markdown(self) -> str:
        a = self.action
        lines = [
            f"**Why: {a.title}** — {a.agent} · `{a.tool}` · revision {a.revision} · {a.status}",
        ]
        shown_alternatives: list[dict[str, Any]] = []
        if self.focus:
            lines += ["", *_focus_lines(a, self.focus)]
            shown_alternatives = self.focus.alternatives
        lines += ["", plain(a.rationale) if a.rationale else "(no rationale recorded)"]
        said: set[tuple[str | None, str]] = set()
        if self.focus:
            said = {(f.key, repr(f.value)) for f in self.focus.evidence if f.source is None}
            if any(key == "slot" for key, _ in said):
                said |= {(k, repr(a.evidence.get(k))) for k in _SLOT_KEYS}
        facts = [f for f in self.facts if (f.key, repr(f.value)) not in said]
        if facts:
            lines += ["", "**Evidence** (as the tools found it when proposed):"]
            lines += [f"- {f.label}: {format_figure(f.key or f.label, f.value)}" for f in facts]
        others = [alt for alt in a.alternatives if alt not in shown_alternatives]
        if others:
            lines += ["", "**Alternatives considered:**"]
            lines += [_alternative_line(alt) for alt in others]
        if a.policy_checks:
            lines += ["", "**Policy checks:**"]
            lines += [
                f"- {'✓ passed' if c.passed else '✗ failed'} {c.rule}: {c.detail}"
                + (f" (rule version {c.rule_version})" if c.rule_version else "")
                for c in a.policy_checks
            ]
        lessons = [f"lesson {x.get('lesson_id')}: {x.get('statement')}" for x in a.lessons_applied]
        lines += ["", "**Lessons applied:** " + ("; ".join(lessons) or "none yet")]
        if a.decisions:
            lines += ["", "**Decisions:**"]
            lines += [_decision_line(d) for d in a.decisions]
        if a.error:
            lines += ["", f"**Failed:** {a.error}"]
        lines += [
            "",
            f"_From the decision record: planner {self.planner or '?'}, proposed "
            f"{_when(self.proposed_at)}, policy `{(self.policy_hash or '?')[:10]}`._",
        ]
        return "\n".join(lines)


def _focus_lines(action: ActionView, focus: Focus) -> list[str]:
    head, _, channel = focus.param.partition(".")
    label = skill_for(action.tool).param(head).label or head.replace("_", " ")
    name = label + (f" for {channel}" if channel else "")
    if focus.excluded_channel and focus.channel_included:
        lead = f"**{focus.excluded_channel} is not left out: {name} {focus.shown}**"
    elif focus.excluded_channel:
        lead = f"**{focus.excluded_channel} is not in this step's {name}: {focus.shown}**"
    else:
        lead = f"**{name.capitalize()}: {focus.shown}**"
    top = focus.param.split(".")[0]
    edits = [d for d in action.decisions if d.verdict == "edit" and top in d.changes]
    if edits:
        first = lookup({top: edits[0].changes[top][0]}, focus.param)
        lead += (
            f" — proposed as {shown_value(action.params, focus.param, first)}, edited by "
            + ", then ".join(f"{d.actor} at {_when(d.at)}" for d in edits)
        )
    elif focus.lessons:
        lead += " — set by " + "; ".join(
            f"lesson {x.get('lesson_id')} ({x.get('statement')})" for x in focus.lessons
        )
    else:
        lead += f" — as the {action.agent} specialist proposed it"
    approvals = [d for d in action.decisions if d.verdict in ("approve", "auto_approve")]
    if approvals:
        last = approvals[-1]
        lead += f"; approved by {last.actor}" if last.verdict == "approve" else "; run by policy"
    lines = [lead + "."]
    if focus.evidence:
        lines += ["", "Behind it:"]
        for fact in focus.evidence:
            where = f" (from *{fact.source_title}*)" if fact.source_title else ""
            shown = format_figure(fact.key or fact.label, fact.value)
            lines.append(f"- {fact.label}: {shown}{where}")
    if focus.alternatives:
        lines += ["", "Considered instead:"]
        lines += [_alternative_line(alt) for alt in focus.alternatives]
    return lines


def _alternative_line(alt: dict[str, Any]) -> str:
    why_not = str(alt.get("why_not") or "")
    scores = (
        f"{k.replace('_', ' ')} {format_figure(k, v)}"
        for k, v in alt.items()
        if k not in ("option", "why_not", "params")
    )
    # A score the reason already states ("expected open rate 40.1% vs 40.6%") is not repeated.
    score = ", ".join(x for x in scores if x not in why_not)
    return (
        f"- {alt.get('option', '?')}"
        + (f" ({score})" if score else "")
        + (f" — not chosen: {alt['why_not']}" if alt.get("why_not") else "")
    )


def _decision_line(d: DecisionView) -> str:
    line = f"- revision {d.revision} {_VERDICTS.get(d.verdict, d.verdict)} by {d.actor}"
    if d.role not in ("system", ""):
        line += f" ({d.role})"
    if d.changes:
        line += ": " + "; ".join(
            f"{k} {format_figure(k, v[0])} → {format_figure(k, v[1])}" for k, v in d.changes.items()
        )
    if d.reason:
        line += f": “{d.reason}”"
    return line + f" at {_when(d.at)}"


def _when(stamp: str | None) -> str:
    """An ISO timestamp from the record as "YYYY-MM-DD HH:MM UTC"."""
    return f"{stamp[:16].replace('T', ' ')} UTC" if stamp else "?"


def evidence_facts(evidence: dict[str, Any], labels: Mapping[str, str] | None = None) -> list[Fact]:
    """The scalar evidence and small maps, in the order the tool reported them.

    `labels` are the kind's own names for its evidence keys (its Skill's `labels`).
    """
    named = labels or {}
    facts: list[Fact] = []
    for key, value in evidence.items():
        if key in ("alternatives", "description"):
            continue
        label = named.get(key, key.replace("_", " "))
        if isinstance(value, dict) and all(not isinstance(v, (dict, list)) for v in value.values()):
            if value:
                facts.append(Fact(label=label, value=value, key=key))
        elif isinstance(value, (int, float, str, bool)) and value != "":
            facts.append(Fact(label=label, value=value, key=key))
    return facts


def _label(path: str, tool: str | None = None) -> str:
    head, _, channel = path.partition(".")
    own = skill_for(tool).labels.get(head) if tool else None
    name = own or _LABELS.get(head, head.replace("_", " "))
    return name + (f" ({channel})" if channel else "")


def _evidence_facts(action: Action, keys: tuple[str, ...], channel: str | None) -> list[Fact]:
    """The evidence at these paths ("shares.{c}", "context.start") that the record holds."""
    facts = []
    for template in keys:
        if "{c}" in template and not channel:
            continue
        path = template.replace("{c}", channel or "")
        if path == "slot" and isinstance(action.evidence.get("send_hour_local"), int):
            hour = action.evidence["send_hour_local"]
            value = f"{action.evidence.get('weekday_name')} {hour:02d}:00"
            label = _label(path, action.tool)
        elif path.startswith("context."):
            path = path.removeprefix("context.")
            value = lookup(action.record.get("context", {}), path)
            label = f"{_label(path, action.tool)} given"
        else:
            value, label = lookup(action.evidence, path), _label(path, action.tool)
        if value not in (None, "", []):
            facts.append(Fact(label=label, value=value, key=path.split(".")[0]))
    return facts


def _channel_facts(session: Session, action: Action, channel: str) -> list[Fact]:
    """What the plan's other actions and its goal recorded about a channel."""
    facts: list[Fact] = []
    plan = session.get(Plan, action.plan_id)
    if plan is not None:
        facts.append(
            Fact(label="channels in the brief", value=plan.goal.get("channels") or [],
                 key="channels", source="plan")
        )  # fmt: skip
    for other in reversed(plan_actions(session, action.plan_id)):
        keys = skill_for(other.tool).channel_evidence
        if other.id == action.id or not keys:
            continue
        for fact in _evidence_facts(other, keys, channel):
            facts.append(fact.model_copy(update={"source": other.id, "source_title": other.title}))
    return facts


def focus_of(session: Session, target: Target) -> Focus | None:
    """The focused parameter of a resolved question, with the evidence the record holds for it."""
    action, param = target.action, target.param
    if param is None:
        return None
    top, _, channel = param.partition(".")
    channel = channel or target.excluded_channel or ""
    value = lookup(action.params, param)
    skill = skill_for(action.tool)
    keys = (
        skill.param(param).evidence or skill.param(f"{top}.{{c}}" if "." in param else top).evidence
    )
    evidence = _evidence_facts(action, keys, channel or None)
    if not keys and top in action.evidence:
        evidence.append(Fact(label=_label(param, action.tool), value=action.evidence[top], key=top))
    included = False
    if target.excluded_channel:
        present = value if isinstance(value, (list, dict)) else [value]
        included = bool(present.get(channel) if isinstance(present, dict) else channel in present)
        evidence += _channel_facts(session, action, target.excluded_channel)
    alternatives = [alt for alt in action.alternatives if top in (alt.get("params") or {})] or (
        [alt for alt in action.alternatives if top in alt] if top == "subject" else []
    )
    applied = {x.get("lesson_id"): x for x in action.lessons_applied}
    query = select(Lesson.id, Lesson.param).where(col(Lesson.id).in_(applied))
    taught = list(session.exec(query)) if applied else []
    return Focus(
        param=param,
        value=value,
        shown=shown_value(action.params, param, value),
        evidence=evidence,
        alternatives=alternatives,
        lessons=[applied[i] for i, p in taught if p == top],
        excluded_channel=target.excluded_channel,
        channel_included=included,
    )


def explain(
    session: Session, action_id: str, *, question: str = "", target: Target | None = None
) -> Explanation | None:
    """The explanation of one action from its record; a question focuses one parameter."""
    action = session.get(Action, action_id)
    if action is None:
        return None
    if target is None or target.action.id != action.id:
        target = resolve_target(session, question, action_id=action.id) if question else None
    view = load_action_views(session, [action])[0]
    record = action.record or {}
    return Explanation(
        action=view,
        facts=evidence_facts(action.evidence, skill_for(action.tool).labels),
        planner=record.get("planner"),
        proposed_at=record.get("proposed_at"),
        policy_hash=record.get("policy_hash"),
        context=record.get("context", {}),
        question=question,
        focus=focus_of(session, target) if target else None,
        today=record.get("today"),
    )
