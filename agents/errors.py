"""The refusals the agents layer gives a person: a decision or request it will not carry out."""

from __future__ import annotations

from typing import Literal

from db.errors import BatonError

ErrorCode = Literal[
    "not_found", "already_decided", "stale_revision", "forbidden", "policy", "invalid", "paused"
]


class DecisionError(BatonError):
    """A request the server refused; `str()` is one sentence a person can act on."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
