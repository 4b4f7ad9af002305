"""What a lesson means: a rule on one tool's parameter, how it reads, whether it holds, and
how a later proposal is bent to satisfy it.

A rule is one of:

- ``set``: the parameter takes this value (send at 09:00);
- ``exclude``: never these values (no sends on Sunday; no SMS in the audience);
- ``min`` / ``max``: a bound (no sends before 09:00);
- ``max_share`` / ``min_share``: a channel's share of ``allocations`` (SMS share <= 20%).
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from agents.specialists.registry import skill_for
from db.vocabulary import WEEKDAYS, channel_label
from tools.performance import allocate_budget

RuleKind = Literal["set", "exclude", "min", "max", "max_share", "min_share"]
RULE_KINDS: tuple[str, ...] = RuleKind.__args__  # type: ignore[attr-defined]
SHARE_KINDS = ("max_share", "min_share")
SLOT = ("send_weekday", "send_hour_local")
"""Bent together: a weekday rule may move the hour only when no slot keeps it."""
SHARE_SLACK = 1e-4


class Rule(BaseModel):
    """One learned rule: which tool's parameter, which kind of rule, which value."""

    model_config = ConfigDict(frozen=True)

    tool: str
    param: str
    kind: RuleKind
    value: Any
    """A scalar or list for set/exclude/min/max; {"channel", "share"} for shares."""

    @property
    def channel(self) -> str | None:
        return str(self.value["channel"]) if self.kind in SHARE_KINDS else None


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def describe(rule: Rule) -> str:
    """The rule as a marketer reads it ("no sends on Sunday", "SMS share of budget <= 20%")."""
    p, v = rule.param, rule.value
    if rule.kind in SHARE_KINDS:
        name, share = channel_label(str(v["channel"])), float(v["share"])
        if rule.kind == "max_share" and share <= 0:
            return f"no {name} budget"
        sign = "<=" if rule.kind == "max_share" else ">="
        return f"{_first_upper(name)} share of budget {sign} {share:.0%}"
    if rule.kind == "exclude":
        values = list(v) if isinstance(v, list) else [v]
        if p == "send_weekday":
            if sorted(values) == [5, 6]:
                return "no weekend sends"
            return "no sends on " + " or ".join(WEEKDAYS[int(d)] for d in sorted(values))
        names = " or ".join(channel_label(str(c)) for c in values)
        where = {"build_segment": " in the audience", "launch_campaign": " in the launch"}
        return f"no {names}{where.get(rule.tool, '')}"
    if rule.kind in ("min", "max"):
        if p == "send_hour_local":
            word = "before" if rule.kind == "min" else "after"
            return f"no sends {word} {int(v):02d}:00 local time"
        if p == "min_days_since_purchase" and rule.kind == "min":
            return f"lapsed means no purchase for at least {v} days"
        return f"{p.replace('_', ' ')} {'>=' if rule.kind == 'min' else '<='} {v}"
    if p == "send_weekday" and isinstance(v, int):
        return f"send on {WEEKDAYS[v]}"
    if p == "send_hour_local" and isinstance(v, int):
        return f"send at {v:02d}:00 local time"
    if p == "min_days_since_purchase":
        return f"lapsed means no purchase for {v}+ days"
    if p == "frequency_cap":
        return f"at most {v} sends per contact in 7 days"
    return f"{p} = {v}"


def shares_of(allocations: dict[str, Any]) -> dict[str, float]:
    """Each channel's share of the total of an allocation."""
    total = sum(float(a) for a in allocations.values())
    return {c: (float(a) / total if total else 0.0) for c, a in allocations.items()}


def holds(rule: Rule, params: dict[str, Any]) -> bool:
    """Whether these parameters satisfy the rule (a rule on an absent parameter holds)."""
    if rule.param not in params:
        return True
    current = params[rule.param]
    if rule.kind in SHARE_KINDS:
        shares = shares_of(current or {})
        channel = rule.channel or ""
        if channel not in shares:
            return True
        share = float(rule.value["share"])
        if rule.kind == "max_share":
            return shares[channel] <= share + SHARE_SLACK
        return shares[channel] >= share - SHARE_SLACK
    if rule.kind == "set":
        return bool(current == rule.value)
    if rule.kind == "exclude":
        excluded = set(rule.value if isinstance(rule.value, list) else [rule.value])
        if isinstance(current, list):
            return not excluded & set(current)
        return current not in excluded
    if current is None:
        return False
    return current >= rule.value if rule.kind == "min" else current <= rule.value


def _as_set(value: Any) -> set[Any]:
    return set(value) if isinstance(value, list) else {value}


def contradicts(new: Rule, old: Rule) -> bool:
    """Whether a newer rule replaces an older one on the same tool and parameter.

    The same kind of rule on the same subject is replaced (a new value, a new cap for the
    same channel, a new minimum); two rules that cannot both hold are too. Exclusions
    accumulate: "no sends on Sunday" and "no sends on Saturday" both stay.
    """
    if (new.tool, new.param) != (old.tool, old.param):
        return False
    if new.kind == old.kind:
        return new.kind != "exclude" and new.channel == old.channel
    if new.kind in SHARE_KINDS and old.kind in SHARE_KINDS:
        if new.channel != old.channel:
            return False
        low, high = (new, old) if new.kind == "min_share" else (old, new)
        return float(low.value["share"]) > float(high.value["share"]) + SHARE_SLACK
    pair = {new.kind: new.value, old.kind: old.value}
    if "set" in pair and "exclude" in pair:
        return bool(_as_set(pair["set"]) & _as_set(pair["exclude"]))
    if "set" in pair and "min" in pair:
        return pair["set"] is None or pair["set"] < pair["min"]
    if "set" in pair and "max" in pair:
        return pair["set"] is None or pair["set"] > pair["max"]
    if "min" in pair and "max" in pair:
        return bool(pair["min"] > pair["max"])
    return False


def rules_from_edit(tool: str, changes: dict[str, list[Any]]) -> list[Rule]:
    """The rules a person's edit teaches: learnable values, channel shares, dropped channels."""
    skill = skill_for(tool)
    rules = [
        Rule(tool=tool, param=p, kind="set", value=changes[p][1])
        for p in skill.learnable("value")
        if p in changes
    ]
    for p in skill.learnable("shares"):
        before, after = changes.get(p, (None, None))
        if isinstance(before, dict) and isinstance(after, dict):
            rules += _share_rules(tool, before, after)
    for p in skill.learnable("exclusions"):
        before, after = changes.get(p, (None, None))
        dropped = [c for c in before or [] if c not in (after or [])]
        if dropped and after:
            rules.append(Rule(tool=tool, param=p, kind="exclude", value=dropped))
    return rules


def _share_rules(tool: str, before: dict[str, Any], after: dict[str, Any]) -> list[Rule]:
    """Channels whose amount the person cut keep their new share as a cap.

    Only when no edited channel lost share do the raised ones keep theirs as a floor:
    moving money from SMS to email says "less SMS", not also "at least this much email".
    """
    old, new = shares_of(before), shares_of(after)
    edited = [c for c in after if c in before and float(before[c]) != float(after[c])]
    cut = [c for c in edited if new[c] < old[c]]
    if cut:
        return [_share(tool, "max_share", c, round(new[c], 2)) for c in cut]
    return [_share(tool, "min_share", c, round(new[c], 2)) for c in edited if new[c] > old[c]]


def _share(tool: str, kind: RuleKind, channel: str, share: float) -> Rule:
    return Rule(
        tool=tool,
        param="allocations",
        kind=kind,
        value={"channel": channel, "share": min(max(share, 0.0), 1.0)},
    )


@dataclass
class Bent:
    """A proposal's parameters after the rules were applied."""

    params: dict[str, Any]
    changed: set[str] = field(default_factory=set)
    """Top-level parameters the rules changed (the specialist re-evaluates these)."""
    met: list[int] = field(default_factory=list)
    """Indexes of the rules the parameters now satisfy."""
    unmet: list[int] = field(default_factory=list)
    """Indexes of rules no adjustment could satisfy (left as proposed)."""


def bend(
    rules: list[Rule],
    params: dict[str, Any],
    evidence: dict[str, Any],
    *,
    bands: dict[str, tuple[float, float]],
) -> Bent:
    """Change the fewest parameters needed for every rule to hold; `bands` are policy's."""
    bent = copy.deepcopy(params)
    relevant = [i for i, r in enumerate(rules) if r.param in params]
    joint = all(k in bent for k in SLOT)
    slot = [rules[i] for i in relevant if joint and rules[i].param in SLOT]
    if slot:
        found = _best_slot(slot, bent, evidence)
        if found is not None:
            bent[SLOT[0]], bent[SLOT[1]] = found
    shares = [rules[i] for i in relevant if rules[i].kind in SHARE_KINDS]
    if shares and isinstance(bent.get("allocations"), dict):
        reshared = _reshare(bent["allocations"], shares, bands)
        if reshared is not None:
            bent["allocations"] = reshared
    order = {"set": 0, "exclude": 1, "min": 2, "max": 3}
    scalar = [rules[i] for i in relevant if rules[i] not in slot]
    for rule in sorted(scalar, key=lambda r: order.get(r.kind, 9)):
        if rule.kind in order:
            repaired = _repair(rule, bent[rule.param])
            if repaired is not None:
                bent[rule.param] = repaired
    met = [i for i in relevant if holds(rules[i], bent)]
    return Bent(
        params=bent,
        changed={k for k in bent if bent[k] != params.get(k)},
        met=met,
        unmet=[i for i in relevant if i not in met],
    )


def _repair(rule: Rule, current: Any) -> Any:
    """A value of one parameter that satisfies one rule, or None when there is none."""
    if rule.kind == "set":
        return copy.deepcopy(rule.value)
    if rule.kind == "min":
        return rule.value if current is None or current < rule.value else current
    if rule.kind == "max":
        return rule.value if current is None or current > rule.value else current
    excluded = _as_set(rule.value)
    if isinstance(current, list):
        kept = [x for x in current if x not in excluded]
        return kept or None
    return None if current in excluded else current


def _best_slot(
    rules: list[Rule], params: dict[str, Any], evidence: dict[str, Any]
) -> tuple[int, int] | None:
    """The (weekday, hour) that satisfies every slot rule, changing as little as possible.

    Among slots that change as few of the two as possible, the tools' own ranking wins
    (the proposed slot, then its alternatives), then the nearest hour and later weekday.
    """
    current = (int(params[SLOT[0]]), int(params[SLOT[1]]))
    ranked: list[tuple[int, int]] = [current]
    if isinstance(evidence.get(SLOT[0]), int) and isinstance(evidence.get(SLOT[1]), int):
        ranked.append((evidence[SLOT[0]], evidence[SLOT[1]]))
    for alt in evidence.get("alternatives") or []:
        if isinstance(alt, dict) and isinstance(alt.get("weekday"), int):
            ranked.append((int(alt["weekday"]), int(alt.get("hour", current[1]))))

    def key(slot: tuple[int, int]) -> tuple[int, int, int, int]:
        changes = (slot[0] != current[0]) + (slot[1] != current[1])
        rank = ranked.index(slot) if slot in ranked else len(ranked)
        return changes, rank, abs(slot[1] - current[1]), (slot[0] - current[0]) % 7

    for slot in sorted(itertools.product(range(7), range(24)), key=key):
        trial = {**params, SLOT[0]: slot[0], SLOT[1]: slot[1]}
        if all(holds(r, trial) for r in rules):
            return slot
    return None


def _reshare(
    allocations: dict[str, Any], rules: list[Rule], bands: dict[str, tuple[float, float]]
) -> dict[str, float] | None:
    """The same total split with the capped or floored shares, the rest kept in proportion."""
    if all(holds(r, {"allocations": allocations}) for r in rules):
        return None
    total = round(sum(float(a) for a in allocations.values()), 2)
    limits = {c: bands.get(c, (0.0, 1.0)) for c in allocations}
    for rule in rules:
        channel, share = rule.channel or "", float(rule.value["share"])
        if channel not in limits:
            continue
        low, high = limits[channel]
        if not low - SHARE_SLACK <= share <= high + SHARE_SLACK:
            return None  # policy's band leaves no room for this lesson: propose as is
        if rule.kind == "max_share":
            high = share
        else:
            low = share
        limits[channel] = (low, high)
    # Weights equal to the current amounts: what a cap frees flows to the other channels
    # in proportion to what they already had.
    costs: dict[str, float | None] = {
        c: (1 / float(a) if float(a) > 0 else 1e9) for c, a in allocations.items()
    }
    try:
        allocation = allocate_budget(
            budget=total, channels=list(allocations), cost_per_conversion=costs, bands=limits
        )
    except ValueError:
        return None
    return dict(allocation.allocations)
