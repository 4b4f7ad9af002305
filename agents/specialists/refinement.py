"""A specialist's model call: sees its own step, tool output and lessons; writes copy and rationale.

The deterministic tool proposes first (numbers come from code). The model then gets only
the slice of context its step needs, may ask its own tool "what if" for other values of
the editable parameters, and answers with a rationale and optional changes. Every change
is re-evaluated by the tool and re-checked by the policy gate; a rationale that cites a
number found nowhere in what the model was shown is refused. Both failures get one repair
attempt; after that the deterministic proposal stands and the record says why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from agents.gate import GateResult
from agents.llm.client import ModelError
from agents.llm.runtime import ModelRuntime
from agents.llm.structured import ToolSpec
from agents.planning.goal import Goal
from agents.specialists.base import Skill, SkillContext
from db.workspace_models import BrandProfile

MAX_LIST = 5
MAX_TEXT = 300

GateFn = Callable[[dict[str, Any], dict[str, Any]], GateResult]
"""Runs the policy gate on (params, evidence)."""


class ParamChange(BaseModel):
    param: str = Field(max_length=60)
    value_json: str = Field(max_length=4000)
    """The new value, JSON-encoded ("2", "\\"Back in stock\\"", "{\\"sms\\": 300}")."""


class SpecialistReply(BaseModel):
    rationale: str = Field(min_length=1, max_length=800)
    """At most three sentences for the marketer; numbers only from the input."""
    changes: list[ParamChange]
    """Edits to editable parameters; empty keeps the tool's proposal."""


@dataclass
class Refinement:
    params: dict[str, Any]
    evidence: dict[str, Any]
    rationale: str
    record: dict[str, Any] = field(default_factory=dict)
    """What the model did, for the decision record."""


_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?%?")


def numbers_in(text: str) -> list[float]:
    found = []
    for match in _NUMBER.finditer(text):
        raw = match.group().replace(",", "").rstrip("%")
        try:
            found.append(float(raw))
        except ValueError:
            continue
    return found


def _source_numbers(value: Any, out: set[float]) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        out.add(float(value))
        out.add(float(value) * 100)  # rates shown as percentages
    elif isinstance(value, str):
        out.update(numbers_in(value))
    elif isinstance(value, dict):
        for item in value.values():
            _source_numbers(item, out)
    elif isinstance(value, list | tuple):
        for item in value:
            _source_numbers(item, out)


def ungrounded(text: str, sources: Any) -> list[str]:
    """Numbers in `text` that appear nowhere in `sources` (at the precision written)."""
    known: set[float] = set()
    _source_numbers(sources, known)
    missing = []
    for match in _NUMBER.finditer(text):
        raw = match.group().replace(",", "").rstrip("%")
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        value = float(raw)
        if value in (1, 2, 3) and decimals == 0:
            continue  # ordinals and counts of things the text itself lists
        if not any(round(k, decimals) == value for k in known):
            missing.append(match.group())
    return missing


def compact(value: Any, depth: int = 0) -> Any:
    """A small copy of tool output for a prompt: short lists, short strings, shallow nesting."""
    if isinstance(value, dict):
        if depth > 3:
            return "…"
        return {k: compact(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [compact(v, depth + 1) for v in value[:MAX_LIST]]
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + "…"
    if isinstance(value, float):
        return round(value, 4)
    return value


def _goal_slice(goal: Goal) -> dict[str, Any]:
    data = goal.model_dump(mode="json", exclude_none=True)
    return {k: v for k, v in data.items() if v not in ([], "")}


def build_context(
    ctx: SkillContext,
    skill: Skill,
    params: dict[str, Any],
    evidence: dict[str, Any],
    alternatives: list[dict[str, Any]],
    lessons: list[str],
) -> dict[str, Any]:
    """Everything this specialist is shown, and nothing more."""
    slice_: dict[str, Any] = {
        "goal": _goal_slice(ctx.goal),
        "step": {"title": ctx.step.title, "tool": skill.kind},
        "proposal": compact(params),
        "evidence": compact(evidence),
        "editable": list(skill.editable),
    }
    if ctx.step.inputs.get("instructions"):
        slice_["step"]["instructions"] = ctx.step.inputs["instructions"]
    if alternatives:
        slice_["alternatives"] = compact(alternatives[:3])
    if lessons:
        slice_["lessons"] = lessons
    if skill.agent == "creative":
        brand = ctx.session.get(BrandProfile, 1)
        if brand is not None:
            slice_["brand"] = {
                "name": brand.name,
                "voice": brand.voice,
                "banned_phrases": brand.banned_phrases,
                "required_disclaimers": brand.required_disclaimers,
            }
    return slice_


def _system(agent: str) -> str:
    return (
        f"You are Baton's {agent} specialist. A deterministic tool computed the proposal "
        "and evidence below. You may call what_if to compare other values of the editable "
        "parameters. Then answer with: changes (only editable parameters, JSON-encoded "
        "values; keep it empty unless the evidence supports a change; for copy, write it "
        "in the brand voice) and a rationale of at most three sentences for the marketer "
        "that uses only numbers present in the input or tool results. Do not change "
        "parameters a lesson set."
    )


class SpecialistModel:
    """Runs specialist model calls for one brief, through one runtime and meter factory."""

    def __init__(self, runtime: ModelRuntime, meter_for: Callable[[str], Any]) -> None:
        self.runtime = runtime
        self.meter_for = meter_for
        """action id -> Meter for that action's calls."""
        self.stopped: str | None = None
        """Why the model is no longer asked in this run (endpoint down, budget spent)."""

    def refine(
        self,
        ctx: SkillContext,
        skill: Skill,
        *,
        action_id: str,
        params: dict[str, Any],
        evidence: dict[str, Any],
        alternatives: list[dict[str, Any]],
        rationale: str,
        lessons: list[str],
        locked: set[str],
        merge: Callable[[dict[str, Any], dict[str, Any]], tuple[dict[str, Any], set[str]]],
        gate: GateFn,
    ) -> Refinement:
        """The model's take on a proposal, checked; the tool's own proposal on any failure.

        `locked` names parameters a lesson set: they are the marketer's, not the model's.
        """
        if self.stopped:
            return Refinement(params, evidence, rationale, {"model_skipped": self.stopped})
        context = build_context(ctx, skill, params, evidence, alternatives, lessons)
        seen: list[Any] = [context]
        outcome: dict[str, Any] = {}

        def evaluate(changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
            merged, changed = merge(params, changes)
            result = skill.evaluate(ctx, merged, frozenset(changed))
            new = skill.params_model.model_validate(result.params).model_dump(mode="json")
            return new, {**evidence, **result.evidence}

        def decode(changes: list[ParamChange]) -> dict[str, Any]:
            decoded: dict[str, Any] = {}
            for change in changes:
                top = change.param.split(".", 1)[0]
                if change.param not in skill.editable and top not in skill.editable:
                    raise ValueError(f"'{change.param}' is not an editable parameter")
                if top in locked:
                    raise ValueError(f"'{change.param}' was set by a lesson; leave it")
                try:
                    decoded[change.param] = json.loads(change.value_json)
                except json.JSONDecodeError:
                    raise ValueError(f"the value for '{change.param}' is not JSON") from None
            return decoded

        def what_if(args: dict[str, Any]) -> Any:
            changes = decode([ParamChange.model_validate(c) for c in args.get("changes", [])])
            new_params, new_evidence = evaluate(changes)
            checks = gate(new_params, new_evidence)
            output = {
                "params": compact(new_params),
                "evidence": compact(new_evidence),
                "policy": [c.rule + ": " + c.detail for c in checks.failures] or "passes",
            }
            seen.append(output)
            return output

        def check(reply: SpecialistReply) -> None:
            changes = decode(reply.changes)
            if changes:
                try:
                    new_params, new_evidence = evaluate(changes)
                except (ValueError, ValidationError) as exc:
                    raise ValueError(f"those changes are not valid: {exc}") from None
                failures = gate(new_params, new_evidence).failures
                if failures:
                    raise ValueError(
                        "those changes break policy: "
                        + "; ".join(f"{c.rule}: {c.detail}" for c in failures)
                    )
                outcome.update(params=new_params, evidence=new_evidence, changes=changes)
            missing = ungrounded(reply.rationale, [*seen, changes])
            if missing:
                raise ValueError(
                    f"the rationale cites {', '.join(missing)}, which the input does not "
                    "contain; use only the numbers given"
                )

        tool = ToolSpec(
            name="what_if",
            description=f"Re-run {skill.kind} with other values of editable parameters.",
            parameters={
                "type": "object",
                "properties": {
                    "changes": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "param": {"type": "string"},
                                "value_json": {"type": "string"},
                            },
                            "required": ["param", "value_json"],
                        },
                    }
                },
                "required": ["changes"],
            },
            run=what_if,
        )
        meter = self.meter_for(action_id)
        try:
            reply = self.runtime.run(
                self.runtime.asker.ask(
                    agent=skill.agent,
                    system=_system(skill.agent),
                    user=json.dumps(context, default=str, separators=(",", ":")),
                    schema=SpecialistReply,
                    meter=meter,
                    check=check,
                    tools=(tool,) if skill.editable else (),
                )
            )
        except ModelError as exc:
            if exc.kind in ("unavailable", "quota", "budget", "rejected"):
                self.stopped = str(exc)
            return Refinement(
                params,
                evidence,
                rationale,
                {"model": self.runtime.client.model, "model_error": str(exc), "kind": exc.kind},
            )
        return Refinement(
            outcome.get("params", params),
            outcome.get("evidence", evidence),
            reply.rationale.strip(),
            {
                "model": self.runtime.client.model,
                "model_context": context,
                "model_changes": outcome.get("changes", {}),
                "tool_rationale": rationale,
                "what_if_calls": len(seen) - 1,
            },
        )
