"""The words every layer shares: channels, weekdays, action statuses, roles and risks.

One home for them, so a channel added or a status renamed is one edit. It imports nothing
from the project, so the tools, the workspace, the agents and the app can all use it.
"""

from __future__ import annotations

from typing import Literal

Channel = Literal["email", "sms", "push", "social", "search", "display", "direct_mail", "web"]
CHANNELS: tuple[str, ...] = Channel.__args__  # type: ignore[attr-defined]
"""Every channel, in the order reports list them."""
MESSAGING_CHANNELS: tuple[str, ...] = ("email", "sms", "push")
"""Channels that send a message to a contact (and need that contact's consent)."""
CHANNEL_LABELS: dict[str, str] = {"sms": "SMS", "direct_mail": "direct mail"}
"""How a channel reads in a sentence, where its name does not."""

WEEKDAYS: tuple[str, ...] = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
"""Index 0 is Monday, as `date.weekday()` and `send_weekday` count."""
WEEKDAY_WORDS: tuple[str, ...] = tuple(day.lower() for day in WEEKDAYS)

ActionStatus = Literal[
    "proposed", "approved", "executing", "succeeded", "failed", "rejected", "superseded",
    "cancelled",
]  # fmt: skip
ACTION_STATUSES: tuple[str, ...] = ActionStatus.__args__  # type: ignore[attr-defined]
UNDECIDED: tuple[str, ...] = ("proposed",)
"""Waiting for a decision."""
IN_FLIGHT: tuple[str, ...] = ("approved", "executing")
"""Decided but not finished: what recovery after a crash completes."""

Role = Literal["viewer", "marketer", "approver", "admin"]
ROLES: tuple[str, ...] = Role.__args__  # type: ignore[attr-defined]
"""Lowest to highest: a role may do what every role before it may."""
Risk = Literal["read", "internal", "external"]
"""What running an action touches: nothing, Baton's own data, or the world outside."""


def channel_label(channel: str) -> str:
    """A channel as it reads in a sentence ("SMS", "direct mail")."""
    return CHANNEL_LABELS.get(channel, channel)
