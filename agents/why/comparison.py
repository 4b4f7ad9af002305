"""Why not X: the tool re-run with an alternative, side by side with what was chosen.

Reading only: the action's skill re-evaluates both parameter sets and the policy gate checks
them, inside a read session that is never committed.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session, select

from agents.figures import format_figure, lookup, shown_value
from agents.lifecycle import DecisionError
from agents.policy import Policy
from agents.proposal import build_context, gate_for
from agents.specialists.registry import skill_for
from agents.views import CheckView
from agents.why.alternative import changes_for, parse_alternative
from agents.why.question import plan_actions, words_of
from db.models import Action, Plan, Step

CAN_COMPARE = (
    "Baton can compare another day or hour for the send time (“why not Sunday?”, “why not "
    "6pm?”), another recency window or channel for the audience (“why not 60 days?”, “why "
    "not only email?”), another budget split (“why not put 800 on SMS?”, “why not an even "
    "split?”) or another subject line (why not “Your next adventure”?)."
)
_PREFERENCE = ("schedule_send", "allocate_budget", "build_segment", "launch_campaign", "draft_copy")
"""Which action an alternative is tried on first when the question names none."""
_TOOLS_FOR = {
    "send time": {"schedule_send"},
    "audience recency window": {"build_segment"},
    "budget split": {"allocate_budget"},
    "channel choice": {"allocate_budget", "build_segment", "launch_campaign"},
    "subject line": {"draft_copy"},
}
"""The step kinds that hold what an alternative changes (see `Alternative.about`)."""


class Row(BaseModel):
    """One line of the comparison: the same measure for the chosen value and the alternative."""

    label: str
    key: str
    chosen: Any
    alternative: Any
    chosen_text: str
    alternative_text: str


class PolicyVerdict(BaseModel):
    """What the policy gate says about one side of the comparison."""

    passed: bool
    failures: list[CheckView] = Field(default_factory=list)
    required_role: str = ""


class WhyNot(BaseModel):
    """A chosen action beside an alternative, both computed now by the action's own tool."""

    question: str
    action_id: str | None = None
    tool: str | None = None
    title: str | None = None
    chosen: str = ""
    """The chosen value, in words ("Tuesday 10:00")."""
    alternative: str = ""
    changes: dict[str, Any] = Field(default_factory=dict)
    """The parameters the alternative changes, as a `baton approve --set` would."""
    chosen_params: dict[str, Any] = Field(default_factory=dict)
    alternative_params: dict[str, Any] = Field(default_factory=dict)
    rows: list[Row] = Field(default_factory=list)
    chosen_policy: PolicyVerdict | None = None
    alternative_policy: PolicyVerdict | None = None
    summary: str = ""
    note: str = ""
    """One sentence when there is nothing to compare (and what Baton can compare)."""

    def to_markdown(self) -> str:
        if not self.rows:
            return self.note
        header = (
            f"**Why not {self.alternative}?** — *{self.title}* (`{self.tool}`), re-run by the "
            "tool with the alternative; nothing was changed."
        )
        lines = [header, "", f"| | chosen: {_cell(self.chosen)} | alternative: "
                 f"{_cell(self.alternative)} |", "| --- | --- | --- |"]  # fmt: skip
        lines += [
            f"| {r.label} | {_cell(r.chosen_text)} | {_cell(r.alternative_text)} |"
            for r in self.rows
        ]
        if self.chosen_policy and self.alternative_policy:
            lines.append(
                f"| policy | {_cell(_verdict(self.chosen_policy))} | "
                f"{_cell(_verdict(self.alternative_policy))} |"
            )
            lines.append(
                f"| who may approve | {self.chosen_policy.required_role} | "
                f"{self.alternative_policy.required_role} |"
            )
        if self.summary:
            lines += ["", self.summary]
        return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _verdict(verdict: PolicyVerdict) -> str:
    if verdict.passed:
        return "passes"
    return "breaks " + "; ".join(f"{c.rule} ({c.detail})" for c in verdict.failures)


def _pick(candidates: list[Action], question: str) -> tuple[Action, dict[str, Any]] | None:
    """The action the alternative applies to: the question's words first, then the usual order."""
    words = words_of(question)
    alt = parse_alternative(question)

    def rank(action: Action) -> tuple[int, int]:
        known = skill_for(action.tool).words
        hits = len(words & {*action.tool.split("_"), action.agent, *known})
        order = _PREFERENCE.index(action.tool) if action.tool in _PREFERENCE else len(_PREFERENCE)
        return -hits, order

    for action in sorted(candidates, key=rank):
        changes = changes_for(action, alt)
        if changes:
            return action, changes
    return None


def _describe(tool: str, params: dict[str, Any]) -> str:
    comparison = skill_for(tool).comparison
    if comparison is not None and comparison.describe is not None:
        return comparison.describe(params)
    return ", ".join(f"{k} {format_figure(k, v)}" for k, v in params.items())


def _rows(tool: str, chosen: dict[str, Any], alternative: dict[str, Any]) -> list[Row]:
    comparison = skill_for(tool).comparison
    rows = []
    for label, path in comparison.rows if comparison else ():
        paths = [path]
        if path.endswith(".*"):
            head = path[:-2]
            keys = {**(lookup(chosen, head) or {}), **(lookup(alternative, head) or {})}
            paths = [f"{head}.{k}" for k in keys]
        for p in paths:
            a, b = lookup(chosen, p), lookup(alternative, p)
            if (a is None and b is None) or (p == "basis" and a == b):
                continue
            name = f"{label} ({p.split('.', 1)[1]})" if "." in p else label
            rows.append(
                Row(
                    label=name,
                    key=p,
                    chosen=a,
                    alternative=b,
                    chosen_text=_text(chosen, p, a),
                    alternative_text=_text(alternative, p, b),
                )
            )
    return rows


def _measures(tool: str, data: dict[str, Any]) -> dict[str, Any]:
    """What the comparison shows for one side: the tool's evidence and parameters, for a launch
    only the channels it sends on."""
    if tool == "launch_campaign" and isinstance(data.get("by_channel"), dict):
        sent = {c: n for c, n in data["by_channel"].items() if c in data.get("channels", [])}
        data = {**data, "by_channel": sent, "messages": sum(sent.values())}
    return data


def _text(data: dict[str, Any], path: str, value: Any) -> str:
    if value is None:
        return "—"
    if path == "brand_issues":
        return "; ".join(str(i.get("detail") or i.get("rule") or i) for i in value) or "none"
    if path in ("send_weekday", "send_hour_local", "subject") or path.startswith("allocations."):
        return shown_value(data, path, value)
    if path == "budget":
        return shown_value(data, "budget", value)
    return format_figure(path.split(".")[0], value)


def _summary(tool: str, rows: list[Row], chosen: str, alternative: str, alt_ok: bool) -> str:
    """One sentence on the measure that decides, and whether the alternative may be proposed."""
    if not alt_ok:
        return f"{alternative} breaks policy, so Baton could not propose it."
    comparison = skill_for(tool).comparison
    measure = comparison.better if comparison else None
    row = next((r for r in rows if measure and r.key == measure[1]), None)
    if measure is None or row is None or row.chosen is None or row.alternative is None:
        return ""
    if row.alternative > row.chosen:
        said = (
            f"{alternative} gives a higher {measure[0]} ({row.alternative_text} vs "
            f"{row.chosen_text}); the plan keeps what was decided unless you edit it."
        )
    elif row.alternative == row.chosen:
        said = f"Both give the same {measure[0]} ({row.chosen_text})."
    else:
        said = f"{chosen} has the higher {measure[0]}: {row.chosen_text} vs {row.alternative_text}."
    unseen = next((r for r in rows if r.key == "chosen_slot_sends" and r.alternative == 0), None)
    if unseen is not None:
        said += (
            f" There are no past sends in the {alternative} slot, so its rate is only the "
            "average of all slots."
        )
    return said


def _reason(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg'].removeprefix('Value error, ')}".strip(": ")
    return str(exc).strip().rstrip(".") or type(exc).__name__


def _step_kinds(session: Session, plan_id: str) -> set[str]:
    return set(session.exec(select(Step.kind).where(Step.plan_id == plan_id)))


def compare_alternative(
    session: Session,
    policy: Policy,
    *,
    question: str,
    action_id: str | None = None,
    plan_id: str | None = None,
) -> WhyNot:
    """Re-run an action's tool with the alternative a question names, and compare; reads only."""
    if action_id is not None:
        action = session.get(Action, action_id)
        if action is None:
            raise DecisionError("not_found", f"There is no action {action_id}.")
        candidates = [action]
    else:
        candidates = plan_actions(session, plan_id)
        if not candidates:
            raise DecisionError("not_found", "There is nothing to compare yet: plan a brief first.")
    picked = _pick(candidates, question)
    if picked is None:
        about = parse_alternative(question).about()
        where = f"*{candidates[0].title}*" if action_id else "this plan"
        if about is None:
            note = CAN_COMPARE
        elif action_id:
            note = f"That changes a {about}, which {where} does not have. {CAN_COMPARE}"
        elif _TOOLS_FOR[about] & _step_kinds(session, candidates[0].plan_id):
            note = (
                f"The {about} of this plan is not proposed yet: it waits for earlier steps to "
                "be approved. Ask again once its card is there."
            )
        else:
            note = f"This plan has no {about} to compare. {CAN_COMPARE}"
        return WhyNot(question=question, note=note)
    action, changes = picked
    skill = skill_for(action.tool)
    plan, step = session.get(Plan, action.plan_id), session.get(Step, action.step_id)
    assert plan is not None and step is not None
    base = WhyNot(
        question=question,
        action_id=action.id,
        tool=action.tool,
        title=action.title,
        changes=changes,
        chosen=_describe(action.tool, action.params),
    )
    merged = {**copy.deepcopy(action.params), **changes}
    ctx = build_context(session, plan, step, policy)
    sides = []
    try:
        if skill.params_model.model_validate(merged).model_dump(mode="json") == action.params:
            base.note = (
                f"{base.chosen} is already what *{action.title}* says: ask “why” to see the "
                "evidence behind it."
            )
            return base
        for params, changed in (
            (copy.deepcopy(action.params), frozenset()),
            (merged, frozenset(changes)),
        ):
            evaluation = skill.evaluate(ctx, params, changed)
            clean = skill.params_model.model_validate(evaluation.params).model_dump(mode="json")
            gate = gate_for(session, policy, plan, action.tool, clean, evaluation.evidence)
            verdict = PolicyVerdict(
                passed=not gate.failures,
                failures=[CheckView.model_validate(c.model_dump()) for c in gate.failures],
                required_role=gate.required_role,
            )
            sides.append((clean, _measures(action.tool, {**evaluation.evidence, **clean}), verdict))
    except (ValueError, ValidationError) as exc:
        base.note = f"Baton cannot try that on *{action.title}*: {_reason(exc)}."
        return base
    (chosen_params, chosen_data, chosen_ok), (alt_params, alt_data, alt_ok) = sides
    base.alternative = _describe(action.tool, alt_params)
    rows = _rows(action.tool, chosen_data, alt_data)
    return base.model_copy(
        update={
            "chosen_params": chosen_params,
            "alternative_params": alt_params,
            "rows": rows,
            "chosen_policy": chosen_ok,
            "alternative_policy": alt_ok,
            "summary": _summary(action.tool, rows, base.chosen, base.alternative, alt_ok.passed),
        }
    )
