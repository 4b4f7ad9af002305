"""The action lifecycle: every transition is one compare-and-set transaction with its audit event.

proposed --edit--> proposed (revision + 1)
proposed --approve(revision r)--> approved --> executing --> succeeded | failed
proposed --reject--> rejected
proposed --re-plan--> superseded
approved --kill switch--> cancelled   (only before executing starts)
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from agents.errors import DecisionError
from agents.policy import Policy
from db.audit import append_audit
from db.engine import core_connection
from db.models import Action, ActionRevision, Decision
from db.rows import new_row
from db.vocabulary import IN_FLIGHT


@dataclass(frozen=True)
class Actor:
    """Who is deciding, with the role stored for them (never the role a client claims)."""

    name: str
    role: str


POLICY_ACTOR = Actor(name="policy", role="system")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(5)}"


def params_hash(params: dict[str, Any]) -> str:
    """Hash of the canonical JSON of a parameter set: what was approved is what runs."""
    body = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def interrupted(session: Session) -> list[Action]:
    """Actions a crash can leave behind: approved but not started, or still executing."""
    return list(session.exec(select(Action).where(col(Action.status).in_(IN_FLIGHT))))


def load_for_decision(session: Session, *, action_id: str, revision: int) -> Action:
    """The action if it is still proposed at this revision; otherwise a DecisionError."""
    return decidable(
        session, session.get(Action, action_id), action_id=action_id, revision=revision
    )


def decidable(session: Session, action: Action | None, *, action_id: str, revision: int) -> Action:
    """`action` (as the caller read it) if it is still proposed at this revision."""
    if action is None:
        raise DecisionError("not_found", f"There is no action {action_id}.")
    if action.status != "proposed":
        who = last_decider(session, action_id)
        by = f" by {who}" if who else ""
        raise DecisionError(
            "already_decided", f"Action {action_id} was already decided{by}: it is {action.status}."
        )
    if action.revision != revision:
        raise DecisionError(
            "stale_revision",
            f"Revision {revision} of action {action_id} is stale: it is now at "
            f"revision {action.revision}. Review the latest and decide again.",
        )
    return action


def last_decider(session: Session, action_id: str) -> str | None:
    decision = session.exec(
        select(Decision).where(Decision.action_id == action_id).order_by(col(Decision.id).desc())
    ).first()
    return decision.actor if decision else None


def check_role(action: Action, actor: Actor, policy: Policy) -> None:
    """Refuse a person whose stored role is below what this action needs."""
    if actor is not POLICY_ACTOR:
        policy.require(actor.name, actor.role, "decide", action_role=action.required_role)


_CAS: dict[tuple[str, ...], Any] = {}
"""The compare-and-set UPDATE for each set of columns a transition writes, built once."""


def _compare_and_set(
    session: Session,
    action: Action,
    *,
    expect_status: str,
    expect_revision: int,
    values: dict[str, Any],
) -> None:
    keys = tuple(sorted(values))
    statement = _CAS.get(keys)
    if statement is None:
        table = Action.__table__  # type: ignore[attr-defined]
        statement = _CAS[keys] = (
            update(table)
            .where(
                table.c.id == bindparam("_id"),
                table.c.status == bindparam("_status"),
                table.c.revision == bindparam("_revision"),
            )
            .values({k: bindparam(k) for k in keys})
        )  # a Core statement: the values are carried below, not read back
    bound = {"_id": action.id, "_status": expect_status, "_revision": expect_revision}
    result = core_connection(session).execute(statement, {**values, **bound})
    if result.rowcount != 1:
        raise DecisionError(
            "already_decided",
            f"Action {action.id} changed while this decision was made; reload it and decide again.",
        )
    # The row now holds exactly these values: carry them, rather than read the row back.
    for key, value in values.items():
        set_committed_value(action, key, value)


def _record_decision(
    session: Session,
    action: Action,
    *,
    revision: int,
    verdict: str,
    actor: Actor,
    policy: Policy,
    now: datetime,
    reason: str = "",
    changes: dict[str, Any] | None = None,
) -> None:
    """Keep who decided what on which revision, and under which policy text."""
    session.add(
        new_row(
            Decision,
            action_id=action.id,
            revision=revision,
            verdict=verdict,
            actor=actor.name,
            role=actor.role,
            reason=reason,
            changes=changes or {},
            policy_hash=policy.sha256,
            created_at=now,
        )
    )


def record_proposal(session: Session, action: Action, *, author: str, now: datetime) -> Action:
    """Store a new action at revision 1 with its revision row and audit event.

    Written with the transaction's next flush (the action's row before its revision's).
    """
    session.add(action)
    session.add(
        new_row(
            ActionRevision,
            action_id=action.id,
            revision=1,
            params=action.params,
            params_hash=action.params_hash,
            evidence=action.evidence,
            policy_checks=action.policy_checks,
            author=author,
            created_at=now,
        )
    )
    append_audit(
        session,
        at=now,
        actor=author,
        kind="action.proposed",
        entity="action",
        entity_id=action.id,
        data={"revision": 1, "tool": action.tool, "params_hash": action.params_hash},
    )
    return action


def approve(
    session: Session, action: Action, *, actor: Actor, policy: Policy, now: datetime
) -> Action:
    """proposed -> approved for the action's current revision."""
    revision = action.revision
    _compare_and_set(
        session,
        action,
        expect_status="proposed",
        expect_revision=revision,
        values={"status": "approved", "updated_at": now},
    )
    _approved(session, action, actor=actor, policy=policy, now=now)
    return action


def approve_and_run(
    session: Session,
    action: Action,
    *,
    actor: Actor,
    policy: Policy,
    now: datetime,
    result: dict[str, Any],
    finished: datetime,
) -> Action:
    """proposed -> approved -> executing -> succeeded, for an action a person approved and
    the same transaction ran (with this result): one compare-and-set, since no other
    transaction can see the states between. Each transition keeps its audit event."""
    _compare_and_set(
        session,
        action,
        expect_status="proposed",
        expect_revision=action.revision,
        values={"status": "succeeded", "result": result, "error": None, "updated_at": finished},
    )
    _approved(session, action, actor=actor, policy=policy, now=now)
    _executing(session, action, now=now)
    _finished(session, action, status="succeeded", result=result, error=None, now=finished)
    return action


def _approved(
    session: Session, action: Action, *, actor: Actor, policy: Policy, now: datetime
) -> None:
    """The decision and audit event of an approval of the action's current revision."""
    revision = action.revision
    verdict = "auto_approve" if actor is POLICY_ACTOR else "approve"
    _record_decision(
        session, action, revision=revision, verdict=verdict, actor=actor, policy=policy, now=now
    )
    data: dict[str, Any] = {
        "revision": revision,
        "params_hash": action.params_hash,
        "policy_hash": policy.sha256,
    }
    earned = next((c for c in action.policy_checks if c.get("rule") == "earned_autonomy"), None)
    if verdict == "auto_approve" and earned is not None:
        # "Why did this run by itself?" is answerable from the audit log alone.
        data["earned_autonomy"] = earned.get("detail")
    append_audit(
        session,
        at=now,
        actor=actor.name,
        kind=f"action.{verdict}d",
        entity="action",
        entity_id=action.id,
        data=data,
    )


def reject(
    session: Session, action: Action, *, actor: Actor, reason: str, policy: Policy, now: datetime
) -> Action:
    """proposed -> rejected, with the reason kept."""
    revision = action.revision
    _compare_and_set(
        session,
        action,
        expect_status="proposed",
        expect_revision=revision,
        values={"status": "rejected", "updated_at": now},
    )
    _record_decision(
        session,
        action,
        revision=revision,
        verdict="reject",
        actor=actor,
        policy=policy,
        now=now,
        reason=reason,
    )
    append_audit(
        session,
        at=now,
        actor=actor.name,
        kind="action.rejected",
        entity="action",
        entity_id=action.id,
        data={"revision": revision, "reason": reason},
    )
    return action


def revise(
    session: Session,
    action: Action,
    *,
    actor: Actor,
    params: dict[str, Any],
    evidence: dict[str, Any],
    checks: list[dict[str, Any]],
    requires_approval: bool,
    required_role: str,
    changes: dict[str, Any],
    policy: Policy,
    now: datetime,
) -> Action:
    """proposed -> proposed at revision + 1 with edited parameters."""
    old = action.revision
    new_hash = params_hash(params)
    _compare_and_set(
        session,
        action,
        expect_status="proposed",
        expect_revision=old,
        values={
            "revision": old + 1,
            "params": params,
            "params_hash": new_hash,
            "evidence": evidence,
            "policy_checks": checks,
            "requires_approval": requires_approval,
            "required_role": required_role,
            "updated_at": now,
        },
    )
    session.add(
        ActionRevision(
            action_id=action.id,
            revision=old + 1,
            params=params,
            params_hash=new_hash,
            evidence=evidence,
            policy_checks=checks,
            author=actor.name,
            created_at=now,
        )
    )
    _record_decision(
        session,
        action,
        revision=old,
        verdict="edit",
        actor=actor,
        policy=policy,
        now=now,
        changes=changes,
    )
    append_audit(
        session,
        at=now,
        actor=actor.name,
        kind="action.edited",
        entity="action",
        entity_id=action.id,
        data={
            "from_revision": old,
            "to_revision": old + 1,
            "changes": changes,
            "params_hash": new_hash,
        },
    )
    return action


def supersede(
    session: Session, action: Action, *, actor: Actor, reason: str, now: datetime
) -> Action:
    """proposed -> superseded, when a re-plan replaces the step."""
    _compare_and_set(
        session,
        action,
        expect_status="proposed",
        expect_revision=action.revision,
        values={"status": "superseded", "updated_at": now},
    )
    append_audit(
        session,
        at=now,
        actor=actor.name,
        kind="action.superseded",
        entity="action",
        entity_id=action.id,
        data={"revision": action.revision, "reason": reason},
    )
    return action


def start_execution(session: Session, action: Action, *, now: datetime) -> Action:
    """approved -> executing; only one caller can win this for a given revision."""
    _compare_and_set(
        session,
        action,
        expect_status="approved",
        expect_revision=action.revision,
        values={"status": "executing", "updated_at": now},
    )
    _executing(session, action, now=now)
    return action


def _executing(session: Session, action: Action, *, now: datetime) -> None:
    append_audit(
        session,
        at=now,
        actor="executor",
        kind="action.executing",
        entity="action",
        entity_id=action.id,
        data={"revision": action.revision, "params_hash": action.params_hash},
    )


def finish_execution(
    session: Session,
    action: Action,
    *,
    result: dict[str, Any] | None,
    error: str | None,
    now: datetime,
) -> Action:
    """executing -> succeeded (with its result) or failed (with one sentence why)."""
    status = "failed" if error else "succeeded"
    _compare_and_set(
        session,
        action,
        expect_status="executing",
        expect_revision=action.revision,
        values={"status": status, "result": result, "error": error, "updated_at": now},
    )
    _finished(session, action, status=status, result=result, error=error, now=now)
    return action


def _finished(
    session: Session,
    action: Action,
    *,
    status: str,
    result: dict[str, Any] | None,
    error: str | None,
    now: datetime,
) -> None:
    append_audit(
        session,
        at=now,
        actor="executor",
        kind=f"action.{status}",
        entity="action",
        entity_id=action.id,
        data={
            "revision": action.revision,
            "error": error,
            "result_keys": sorted((result or {}).keys()),
        },
    )


def cancel(session: Session, action: Action, *, actor: Actor, reason: str, now: datetime) -> Action:
    """approved -> cancelled by the kill switch, before execution starts."""
    _compare_and_set(
        session,
        action,
        expect_status="approved",
        expect_revision=action.revision,
        values={"status": "cancelled", "updated_at": now},
    )
    append_audit(
        session,
        at=now,
        actor=actor.name,
        kind="action.cancelled",
        entity="action",
        entity_id=action.id,
        data={"revision": action.revision, "reason": reason},
    )
    return action
