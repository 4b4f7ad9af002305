"""What an action card shows: props for public/elements/ActionCard.jsx, built from the ledger."""

from __future__ import annotations

from typing import Any

from agents.policy import may
from agents.specialists.registry import skill_for
from agents.views import ActionView
from agents.why.explain import evidence_facts, format_figure
from db.vocabulary import WEEKDAYS

AGENT_LABELS = {
    "research": "Research",
    "performance": "Performance",
    "audience": "Audience",
    "creative": "Creative",
    "channel": "Channel",
    "experiment": "Experiment",
    "compliance": "Compliance",
    "distribution": "Distribution",
}
LONG_TEXT = {"body"}


def _first_upper(text: str) -> str:
    """Capitalise the first letter only: "first send (UTC)" keeps its acronym."""
    return text[:1].upper() + text[1:]


def _label(tool: str, path: str) -> str:
    heading = skill_for(tool).param(path).heading
    return heading or path.replace("allocations.", "").replace("_", " ").capitalize()


def _field(tool: str, path: str, value: Any) -> dict[str, Any]:
    field: dict[str, Any] = {"path": path, "label": _label(tool, path), "value": value}
    if path == "send_weekday":
        field.update(
            type="select", options=[{"value": i, "label": d} for i, d in enumerate(WEEKDAYS)]
        )
    elif path == "send_hour_local":
        field.update(
            type="select", options=[{"value": h, "label": f"{h:02d}:00"} for h in range(24)]
        )
    elif isinstance(value, bool):
        field.update(type="bool")
    elif isinstance(value, (int, float)) or (value is None and path.startswith(("min_", "max_"))):
        field.update(type="number")
    elif isinstance(value, list):
        field.update(type="list", value=", ".join(str(v) for v in value))
    elif path in LONG_TEXT:
        field.update(type="textarea")
    else:
        field.update(type="text", value="" if value is None else str(value))
    return field


def editable_fields(view: ActionView) -> list[dict[str, Any]]:
    """One form field per editable parameter; maps expand to one field per key."""
    fields = []
    for path in view.editable:
        value = view.params.get(path)
        if isinstance(value, dict):
            fields += [_field(view.tool, f"{path}.{k}", v) for k, v in value.items()]
        elif path in view.params:
            fields.append(_field(view.tool, path, value))
    return fields


def param_rows(view: ActionView) -> list[dict[str, str]]:
    rows = []
    for key, value in view.params.items():
        if key.endswith("_action_id") or value is False or value in (None, "", [], {}):
            continue
        if key == "send_weekday" and isinstance(value, int):
            shown = WEEKDAYS[value]
        elif key == "send_hour_local" and isinstance(value, int):
            shown = f"{value:02d}:00 local"
        elif key == "body":
            shown = str(value)
        else:
            shown = format_figure(key, value)
        rows.append({"label": _label(view.tool, key), "value": shown})
    return rows


def result_summary(view: ActionView) -> str | None:
    """One sentence on what execution returned."""
    if view.result is None:
        return None
    summarise = skill_for(view.tool).summarise
    return summarise(view.result) if summarise is not None else "Done."


def card_props(view: ActionView, *, role: str) -> dict[str, Any]:
    """Everything the card renders; the browser gets display data, never authority."""
    last = view.decisions[-1] if view.decisions else None
    can_decide = view.status == "proposed" and may(role, view.needs_role)
    return {
        "action_id": view.action_id,
        "revision": view.revision,
        "status": view.status,
        "title": view.title,
        "agent": AGENT_LABELS.get(view.agent, view.agent),
        "tool": view.tool,
        "risk": view.risk,
        "requires_approval": view.requires_approval,
        "required_role": view.required_role,
        "rationale": view.rationale,
        "params": param_rows(view),
        "fields": editable_fields(view) if view.status == "proposed" else [],
        "evidence": [
            {"label": _first_upper(f.label), "value": format_figure(f.key or f.label, f.value)}
            for f in evidence_facts(view.evidence, skill_for(view.tool).labels)
            if f.label.replace(" ", "_") not in view.params and f.value is not False
        ][:8],
        "edits": [
            f"Revision {d.revision} edited by {d.actor}: "
            + "; ".join(
                f"{k} {format_figure(k, v[0])} → {format_figure(k, v[1])}"
                for k, v in d.changes.items()
            )
            for d in view.decisions
            if d.verdict == "edit"
        ],
        "checks": [c.model_dump() for c in view.policy_checks],
        "alternatives": [
            {"option": str(a.get("option")), "why_not": str(a.get("why_not", ""))}
            for a in view.alternatives
        ][:4],
        "lessons": [str(x.get("statement")) for x in view.lessons_applied],
        "result_summary": result_summary(view),
        "error": view.error,
        "decided_by": (last.actor if last and last.verdict != "edit" else None),
        "decision": (last.verdict if last else None),
        "reason": (last.reason if last else ""),
        "can_decide": can_decide,
        "blocked": any(not c.passed for c in view.policy_checks),
        "updated_at": view.updated_at,
    }
