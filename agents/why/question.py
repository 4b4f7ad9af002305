"""A marketer's free-text question about a plan: which action, which parameter, which channel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from agents.specialists.registry import skill_for
from db.models import Action, Plan
from db.vocabulary import CHANNELS, WEEKDAY_WORDS

CHANNEL_ALIASES = {
    **{c: c for c in CHANNELS},
    "emails": "email",
    "e-mail": "email",
    "texts": "sms",
    "text messages": "sms",
    "text message": "sms",
    "notifications": "push",
    "direct mail": "direct_mail",
}
EXCLUSION = re.compile(
    r"\b(leave|left|leaving|keep|kept)\s+out\b|\bexclud|\bwithout\b|\bskip|\bdrop|\bomit"
    r"|\bignor|\bmissing\b|\bnot\s+(use|using|include|including)\b|\bno\s+\w+\s*\??$",
    re.IGNORECASE,
)
NUMBER = re.compile(r"(?<![\w.])\$?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(k\b)?", re.IGNORECASE)
HOUR = re.compile(
    r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)|\b(\d{1,2}):(\d{2})\b|\b(noon|midnight)\b",
    re.IGNORECASE,
)
DAYS = re.compile(r"\b(\d{1,4})\s*\+?\s*-?\s*days?\b", re.IGNORECASE)

_EXCLUSION_ORDER = ("allocate_budget", "build_segment", "launch_campaign", "schedule_send")


@dataclass(frozen=True)
class Target:
    """What a question is about: an action, and the parameter it means when it names one."""

    action: Action
    param: str | None = None
    """A parameter path ("send_weekday", "allocations.sms"), or None for the whole action."""
    excluded_channel: str | None = None
    """For "why did you leave out SMS?": the channel the question says is missing."""


def words_of(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def channels_in(text: str) -> list[str]:
    """Channel names the text mentions, in the order they appear."""
    lowered = text.lower()
    found: list[tuple[int, str]] = []
    for alias, channel in CHANNEL_ALIASES.items():
        for match in re.finditer(rf"(?<![\w-]){re.escape(alias)}(?![\w-])", lowered):
            found.append((match.start(), channel))
    return list(dict.fromkeys(c for _, c in sorted(found)))


def hour_in(text: str) -> int | None:
    """A clock hour the text names ("6pm", "18:00", "noon"), 0-23."""
    match = HOUR.search(text)
    if match is None:
        return None
    if match.group(6):
        return 12 if match.group(6).lower() == "noon" else 0
    if match.group(4) is not None:
        hour = int(match.group(4))
        return hour if hour <= 23 else None
    hour, meridiem = int(match.group(1)), match.group(3).lower().replace(".", "")
    if not 1 <= hour <= 12:
        return None
    return (hour % 12) + (12 if meridiem == "pm" else 0)


def weekday_in(text: str) -> int | None:
    words = words_of(text)
    return next((i for i, day in enumerate(WEEKDAY_WORDS) if day in words), None)


def days_in(text: str) -> int | None:
    match = DAYS.search(text)
    return int(match.group(1)) if match else None


def numbers_in(text: str) -> list[float]:
    """Plain amounts the text names ("1,400", "$800", "2.5k"), not hours or day counts."""
    text = DAYS.sub(" ", HOUR.sub(" ", text))
    values = []
    for match in NUMBER.finditer(text):
        value = float(match.group(1).replace(",", "") + "." + (match.group(2) or "0"))
        values.append(value * 1000 if match.group(3) else value)
    return values


def excludes(action: Action, channel: str) -> str | None:
    """The channel-bearing parameter of an action that leaves this channel out, if any."""
    params = action.params
    if isinstance(params.get("allocations"), dict):
        if not params["allocations"].get(channel):
            return "allocations"
        return None
    if isinstance(params.get("channels"), list):
        return "channels" if channel not in params["channels"] else None
    if isinstance(params.get("channel"), str):
        return "channel" if params["channel"] != channel else None
    return None


def _close(a: float, b: Any) -> bool:
    if isinstance(b, bool) or not isinstance(b, (int, float)):
        return False
    return abs(a - float(b)) <= max(0.01 * abs(float(b)), 0.5)


def _param_score(action: Action, param: str, question: str, words: set[str]) -> int:
    """How strongly the question points at one parameter of this action."""
    score = len(words & set(skill_for(action.tool).param(param).words))
    value = action.params.get(param)
    if param == "send_weekday" and weekday_in(question) is not None:
        score += 2 + (3 if weekday_in(question) == value else 0)
    if param == "send_hour_local" and hour_in(question) is not None:
        score += 2 + (3 if hour_in(question) == value else 0)
    if param == "min_days_since_purchase" and days_in(question) is not None:
        score += 2 + (3 if days_in(question) == value else 0)
    amounts = numbers_in(question)
    if param == "allocations" and isinstance(value, dict):
        mentioned = set(channels_in(question)) & set(value)
        score += 2 * len(mentioned) if score else len(mentioned)
        score += 3 * sum(1 for n in amounts for v in value.values() if _close(n, v))
    elif param == "budget" and any(_close(n, value) for n in amounts):
        score += 3
    return score


def _focus_param(action: Action, question: str) -> tuple[str | None, int]:
    """The parameter of this action the question means (with its score), if any."""
    words = words_of(question)
    best: tuple[str | None, int] = (None, 0)
    for name, known in skill_for(action.tool).params.items():
        if not known.words or name not in action.params:
            continue
        score = _param_score(action, name, question, words)
        if score > best[1]:
            best = (name, score)
    param = best[0]
    allocations = action.params.get("allocations")
    if param == "allocations" and isinstance(allocations, dict):
        named = [c for c in channels_in(question) if c in allocations]
        amounts = numbers_in(question)
        matched = [c for c in allocations if any(_close(n, allocations[c]) for n in amounts)]
        channel = (matched or named or [None])[0]
        if channel:
            param = f"allocations.{channel}"
    return param, best[1]


def _tool_score(action: Action, words: set[str]) -> int:
    vocab = set(skill_for(action.tool).words) | {action.agent}
    vocab |= set(re.findall(r"[a-z]+", action.title.lower())) - {"the", "and", "a", "to", "of"}
    return len(words & vocab)


def latest_plan_id(session: Session) -> str | None:
    """The newest plan that has actions: a question without context is about it."""
    query = (
        select(Plan.id)
        .join(Action, col(Action.plan_id) == col(Plan.id))
        .order_by(col(Plan.created_at).desc())
        .limit(1)
    )
    return session.exec(query).first()


def plan_actions(session: Session, plan_id: str | None) -> list[Action]:
    """A plan's actions, newest first (the latest plan's when no plan is given)."""
    plan_id = plan_id or latest_plan_id(session)
    if plan_id is None:
        return []
    query = select(Action).where(Action.plan_id == plan_id)
    return list(session.exec(query.order_by(col(Action.created_at).desc())))


def resolve_target(
    session: Session, question: str, *, plan_id: str | None = None, action_id: str | None = None
) -> Target | None:
    """The action and parameter a free-text "why ...?" means: the latest plan first.

    A card's button names its action exactly (`action_id`); the question then only picks
    the parameter. Without a match, the plan's newest action.
    """
    if action_id is not None:
        action = session.get(Action, action_id)
        if action is None:
            return None
        return _target_within(action, question)
    candidates = plan_actions(session, plan_id)
    for named in re.findall(r"act_[0-9a-f]+", question.lower()):
        action = session.get(Action, named)
        if action is not None:
            return _target_within(action, question)
    if not candidates:
        return None
    channels = channels_in(question)
    if channels and EXCLUSION.search(question):
        return _exclusion_target(candidates, channels[0])
    words = words_of(question)

    def score(action: Action) -> tuple[int, int]:
        param_score = _focus_param(action, question)[1]
        return _tool_score(action, words) + param_score, param_score

    ranked = sorted(candidates, key=score, reverse=True)  # stable: newest first among equals
    best = ranked[0]
    if score(best) == (0, 0):
        return Target(action=candidates[0])
    return _target_within(best, question)


def _target_within(action: Action, question: str) -> Target:
    channels = channels_in(question)
    if channels and EXCLUSION.search(question):
        param = excludes(action, channels[0])
        if param is not None:
            return Target(action=action, param=param, excluded_channel=channels[0])
    return Target(action=action, param=_focus_param(action, question)[0])


def _exclusion_target(candidates: list[Action], channel: str) -> Target:
    """The action that leaves the channel out; if none does, the one that spends on it."""
    by_tool = {a.tool: a for a in reversed(candidates)}
    for tool in _EXCLUSION_ORDER:
        action = by_tool.get(tool)
        if action is not None and (param := excludes(action, channel)) is not None:
            return Target(action=action, param=param, excluded_channel=channel)
    for tool, param in (
        ("allocate_budget", f"allocations.{channel}"),
        ("build_segment", "channels"),
    ):
        if tool in by_tool:
            return Target(action=by_tool[tool], param=param, excluded_channel=channel)
    return Target(action=candidates[0], excluded_channel=channel)


def resolve_action(session: Session, question: str, *, plan_id: str | None = None) -> Action | None:
    """The action a free-text "why ...?" is about (see `resolve_target`)."""
    target = resolve_target(session, question, plan_id=plan_id)
    return target.action if target else None
