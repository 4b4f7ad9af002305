"""Governance: the policy file, roles, autonomy, and the gate every proposal and edit passes."""

from __future__ import annotations

import hashlib
import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from agents.errors import DecisionError
from db.errors import BatonError
from db.vocabulary import ROLES, Risk, Role

Operation = Literal[
    "plan", "decide", "import", "regenerate", "forget_lesson", "raise_autonomy",
    "lower_autonomy", "kill_switch", "audit",
]  # fmt: skip
"""What a person may ask Baton to do; `Policy.role_for` says who may."""
_WHAT: dict[str, str] = {
    "plan": "planning",
    "decide": "deciding on this action",
    "import": "importing data",
    "regenerate": "regenerating the demo",
    "forget_lesson": "forgetting lessons",
    "raise_autonomy": "raising autonomy",
    "lower_autonomy": "changing autonomy",
    "kill_switch": "the kill switch",
    "audit": "the audit log",
}


def role_rank(role: str) -> int:
    """Position on the role ladder; unknown roles rank below viewer."""
    return ROLES.index(role) if role in ROLES else -1


def may(role: str, needed: str) -> bool:
    """The one rule: a role may do what any role at or below it on the ladder may."""
    return role_rank(role) >= role_rank(needed)


class Approvals(BaseModel):
    decide_role: Role = "marketer"
    spend_needs_approver_above: float = 1000.0
    audience_needs_approver_above: int = 25_000


class Budget(BaseModel):
    max_per_plan: float = 10_000.0
    channel_bands: dict[str, tuple[float, float]] = Field(default_factory=dict)


class Frequency(BaseModel):
    max_sends_per_7_days: int = 3


class QuietHours(BaseModel):
    start: int = Field(21, ge=0, le=23)
    end: int = Field(8, ge=0, le=23)

    def contains(self, hour: int) -> bool:
        """Whether a local hour falls inside the quiet window (which may wrap midnight)."""
        if self.start <= self.end:
            return self.start <= hour < self.end
        return hour >= self.start or hour < self.end


class Consent(BaseModel):
    require_channel_consent: bool = True


class Content(BaseModel):
    banned_phrases: list[str] = Field(default_factory=list)
    require_unsubscribe: bool = True
    required_disclaimers: list[str] = Field(default_factory=list)
    legal_review_topics: list[str] = Field(default_factory=list)


class EarnedAutonomy(BaseModel):
    """When Baton offers to raise one action kind's autonomy, and who may say yes."""

    earn_after: int = Field(5, ge=1)
    """Approvals in a row without a change before Baton suggests it."""
    confirm_role: Role = "approver"
    max_level: int = Field(2, ge=0, le=3)
    """The highest level Baton may offer (3 would let external actions run by themselves)."""


class Policy(BaseModel):
    """The parsed policy file; `sha256` identifies the exact text decisions were checked against."""

    autonomy: int = Field(1, ge=0, le=3)
    autonomy_by_kind: dict[str, int] = Field(default_factory=dict)
    approvals: Approvals = Field(default_factory=Approvals)
    budget: Budget = Field(default_factory=Budget)
    frequency: Frequency = Field(default_factory=Frequency)
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    consent: Consent = Field(default_factory=Consent)
    content: Content = Field(default_factory=Content)
    earned_autonomy: EarnedAutonomy = Field(default_factory=EarnedAutonomy)
    sha256: str = ""

    def autonomy_for(self, kind: str) -> int:
        return self.autonomy_by_kind.get(kind, self.autonomy)

    def band(self, channel: str) -> tuple[float, float]:
        return self.budget.channel_bands.get(channel, (0.0, 1.0))

    def role_for(self, operation: Operation, *, action_role: str | None = None) -> str:
        """The lowest role that may do this; the one rule behind every permission check.

        A decision also needs the role the policy gate set on the action
        (`action_role`: "approver" for spend or an audience above the thresholds).
        """
        base = {
            "plan": "marketer",
            "decide": self.approvals.decide_role,
            "import": "marketer",
            "regenerate": "admin",
            "forget_lesson": "marketer",
            "raise_autonomy": self.earned_autonomy.confirm_role,
            "lower_autonomy": self.approvals.decide_role,
            "kill_switch": "approver",
            "audit": "approver",
        }[operation]
        if action_role is not None and role_rank(action_role) > role_rank(base):
            return action_role
        return base

    def allows(self, role: str, operation: Operation, *, action_role: str | None = None) -> bool:
        """Whether a person of this stored role may do this."""
        return may(role, self.role_for(operation, action_role=action_role))

    def require(
        self, name: str, role: str, operation: Operation, *, action_role: str | None = None
    ) -> None:
        """Refuse a person whose stored role is below what this needs, in one sentence."""
        needed = self.role_for(operation, action_role=action_role)
        if not may(role, needed):
            raise DecisionError(
                "forbidden", f"{name} is a {role}; {_WHAT[operation]} needs the {needed} role."
            )


class PolicyError(BatonError, ValueError):
    """The policy file cannot be read; the message says where."""


def default_policy_text() -> str:
    return resources.files("agents").joinpath("policy_defaults.toml").read_text(encoding="utf-8")


def parse_policy(text: str) -> Policy:
    """Parse policy TOML; raise PolicyError with one clear sentence if it is invalid."""
    try:
        data = tomllib.loads(text)
        policy = Policy.model_validate(data)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy.toml is not valid TOML: {exc}.") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PolicyError(f"policy.toml has a bad value at {where}: {first['msg']}.") from exc
    policy.sha256 = hashlib.sha256(text.encode()).hexdigest()
    return policy


def load_policy(path: Path) -> Policy:
    """Read the policy file, writing the commented defaults first if it does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(default_policy_text(), encoding="utf-8")
    return parse_policy(path.read_text(encoding="utf-8"))


RUNS_BY_ITSELF_AT: dict[str, int] = {"read": 1, "internal": 2, "external": 3}
"""The lowest autonomy level at which an action of each risk runs without a click."""


def needs_approval(policy: Policy, *, kind: str, risk: Risk, level: int | None = None) -> bool:
    """The autonomy ladder: whether an action of this kind and risk waits for a person.

    `level` overrides the policy's level for the kind (an earned, confirmed autonomy).
    """
    level = policy.autonomy_for(kind) if level is None else level
    return level < RUNS_BY_ITSELF_AT[risk]
