"""What an answer may quote: the numbers in a text, the record behind an answer."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from agents.service import Baton
from agents.why.explain import Explanation

_TOKEN = re.compile(
    r"(?<![\w.])(?P<date>\d{4}-\d{2}-\d{2})(?:[T ](?P<dh>\d{2}):(?P<dm>\d{2}))?"
    r"|(?<![\w.:])(?P<h>\d{1,2}):(?P<m>\d{2})(?!\d)"
    r"|(?<![\w.])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<pct>%)?"
)


@dataclass(frozen=True)
class Number:
    value: float
    tolerance: float
    """Half a unit of the last decimal shown: 44.1% stands for 0.4405 up to 0.4415."""
    text: str


def numbers_in(text: str) -> tuple[list[Number], set[str]]:
    """Numbers (thousands separators dropped, percentages as fractions) and dates/times."""
    text = re.sub(r"`[^`]*`", "", text)  # identifiers: tool names, the policy hash
    numbers: list[Number] = []
    stamps: set[str] = set()
    for m in _TOKEN.finditer(text):
        if m["date"]:
            stamps.add(m["date"])
            if m["dh"]:
                stamps.add(f"{m['dh']}:{m['dm']}")
        elif m["h"]:
            if m["m"] == "00":
                numbers.append(Number(float(m["h"]), 0.0, m.group()))
            else:
                stamps.add(f"{int(m['h']):02d}:{m['m']}")
        else:
            raw = m["num"].replace(",", "")
            decimals = len(raw.partition(".")[2]) + (2 if m["pct"] else 0)
            value = float(raw) / (100 if m["pct"] else 1)
            numbers.append(Number(value, 0.5 * 10**-decimals + 1e-9, m.group()))
    return numbers, stamps


def record_text(baton: Baton, answer: Explanation) -> str:
    """The record an answer may quote: the action, the plan's goal and day, cited actions."""
    cited = {answer.action.action_id}
    if answer.focus:
        cited |= {f.source for f in answer.focus.evidence if f.source and f.source != "plan"}
    plan = baton.get_plan(answer.action.plan_id)
    record: dict[str, Any] = {
        "actions": [baton.get_action(i).model_dump(mode="json") for i in sorted(cited)],
        "record": [answer.planner, answer.proposed_at, answer.context, answer.today],
        "plan": {"goal": plan.goal, "today": plan.today},
    }
    return json.dumps(record, ensure_ascii=False)


def unsourced(answer_text: str, record: str) -> list[str]:
    shown, shown_stamps = numbers_in(answer_text)
    known, known_stamps = numbers_in(record)
    missing = [
        n.text for n in shown if not any(abs(k.value - n.value) <= n.tolerance for k in known)
    ]
    return missing + sorted(shown_stamps - known_stamps)
