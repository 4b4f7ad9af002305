"""Earned autonomy: a kind of action the marketer keeps approving unchanged may run by itself.

Per action kind Baton counts approvals, edits and rejections (from the Decision rows).
After `earned_autonomy.earn_after` approvals in a row without a change it suggests letting
that kind run without asking; only a person with `confirm_role` turns the suggestion into
a grant. The gate reads the grant (and records it as a policy check on what it lets run);
the next rejection of that kind revokes it and says so. Policy.toml stays the floor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import and_, bindparam, func, or_
from sqlalchemy import event as sa_event
from sqlmodel import Session, col, select

from agents.gate import EarnedLevel
from agents.lifecycle import Actor, DecisionError
from agents.policy import RUNS_BY_ITSELF_AT, Policy
from agents.specialists.registry import skill_for
from db.audit import append_audit
from db.engine import core_connection
from db.memory_models import AutonomyGrant
from db.models import Action, Decision
from db.rows import persistent_rows, select_rows

Outcome = Literal["approved", "edited", "rejected"]
HUMAN_VERDICTS = ("approve", "edit", "reject")


class AutonomySuggestion(BaseModel):
    """Baton's offer to let one kind run by itself; a person must confirm it."""

    kind: str
    streak: int
    """Approvals in a row without a change."""
    level: int
    """The autonomy level the kind would get."""
    text: str
    can_confirm: bool = False
    """Whether the person who just decided may confirm it (policy's confirm_role)."""
    confirm_role: str = "approver"


class KindAutonomy(BaseModel):
    """One action kind's approval history and autonomy, as `baton autonomy` lists it."""

    kind: str
    risk: str
    approved_unchanged: int
    edited: int
    rejected: int
    streak: int
    policy_level: int
    granted_level: int | None
    granted_by: str | None
    granted_at: str | None
    effective_level: int
    runs_by_itself: bool
    suggested: bool


_ALL_GRANTS = select_rows(AutonomyGrant).order_by(col(AutonomyGrant.id))
_GRANTS = "autonomy_grants"
"""Session.info key: every grant as this transaction read it (see `_grants`)."""


def _grants(session: Session) -> list[AutonomyGrant]:
    """Every grant, raised or revoked, read once per transaction.

    A handful of rows (one per raise), read by the gate for each proposal and by the streak
    after each decision. Raising or lowering forgets them, as does the end of the transaction.
    """
    grants = session.info.get(_GRANTS)
    if grants is None:
        grants = persistent_rows(session, AutonomyGrant, _ALL_GRANTS)
        session.info[_GRANTS] = grants
    return list(grants)


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_grants(session: Session, previous_transaction: object) -> None:
    session.info.pop(_GRANTS, None)


@sa_event.listens_for(Session, "after_commit")
def _forget_grants_after_commit(session: Session) -> None:
    session.info.pop(_GRANTS, None)  # another writer may change them before the next one


def active_grant(session: Session, kind: str) -> AutonomyGrant | None:
    return next((g for g in _grants(session) if g.kind == kind and g.revoked_at is None), None)


def earned_for(session: Session, kind: str) -> EarnedLevel | None:
    """The confirmed level the gate applies to this kind, with who confirmed it and why."""
    grant = active_grant(session, kind)
    if grant is None:
        return None
    return EarnedLevel(
        level=grant.level,
        detail=f"autonomy for {kind} raised to {grant.level} by {grant.granted_by} on "
        f"{grant.granted_at.date().isoformat()} after {grant.streak} unchanged approvals in "
        f"a row (policy.toml says {grant.policy_level}); a rejection of {kind} lowers it again",
    )


def _last_change(session: Session, kind: str) -> datetime | None:
    """When this kind's autonomy last changed: a streak counts from there."""
    latest: datetime | None = None
    for grant in (g for g in _grants(session) if g.kind == kind):
        for at in (grant.granted_at, grant.revoked_at):
            if at is not None and (latest is None or _naive(at) > _naive(latest)):
                latest = at
    return latest


def _naive(at: datetime) -> datetime:
    return at.replace(tzinfo=None)


def _aware(at: datetime) -> datetime:
    """A stored instant (UTC) as an aware datetime, as queries bind them."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def outcomes(session: Session, kind: str) -> list[Outcome]:
    """What people did with each action of this kind, newest first (policy runs excluded)."""
    since = _last_change(session, kind)
    query = (
        select(Decision.action_id, Decision.verdict, Decision.created_at)
        .join(Action, col(Action.id) == col(Decision.action_id))
        .where(Action.tool == kind, col(Decision.verdict).in_(HUMAN_VERDICTS))
        .order_by(col(Decision.id).desc())
    )
    by_action: dict[str, set[str]] = {}
    for action_id, verdict, at in session.exec(query):
        if since is not None and _naive(at) <= _naive(since):
            continue
        by_action.setdefault(action_id, set()).add(verdict)
    result: list[Outcome] = []
    for verdicts in by_action.values():  # insertion order: latest decision first
        if "reject" in verdicts:
            result.append("rejected")
        elif "edit" in verdicts:
            result.append("edited")
        elif "approve" in verdicts:
            result.append("approved")
    return result


def _streak_statement(*, since: bool) -> Any:
    """The streak's count, built once per shape (parameters: kind, and since)."""
    of_kind = (Action, col(Action.id) == col(Decision.action_id))
    changed = or_(
        col(Decision.verdict).in_(("edit", "reject")),
        and_(col(Decision.verdict) == "approve", col(Decision.revision) > 1),
    )
    last_break = (
        select(func.max(Decision.id))
        .join(*of_kind)
        .where(Action.tool == bindparam("kind"), changed)
        .scalar_subquery()
    )
    query = (
        select(func.count())
        .select_from(Decision)
        .join(*of_kind)
        .where(
            Action.tool == bindparam("kind"),
            Decision.verdict == "approve",
            Decision.revision == 1,
            col(Decision.id) > func.coalesce(last_break, 0),
        )
    )
    return query.where(col(Decision.created_at) > bindparam("since")) if since else query


_STREAK = {since: _streak_statement(since=since) for since in (False, True)}


def streak(session: Session, kind: str) -> int:
    """Approvals in a row without a change, counted back from the latest decision.

    One count in SQL: a person's approval of an unedited action (revision 1) after the
    latest edit, rejection or approval of an edited action of this kind, and after the
    kind's last autonomy change.
    """
    since = _last_change(session, kind)
    params: dict[str, Any] = {"kind": kind}
    if since is not None:
        params["since"] = _aware(since)
    return int(core_connection(session).execute(_STREAK[since is not None], params).scalar_one())


def effective_level(session: Session, policy: Policy, kind: str) -> int:
    grant = active_grant(session, kind)
    return max(policy.autonomy_for(kind), grant.level if grant else 0)


def _offer(session: Session, policy: Policy, kind: str) -> tuple[int, int] | None:
    """(streak, level) when raising this kind is on offer; None when it is not."""
    level = RUNS_BY_ITSELF_AT[skill_for(kind).risk]
    if level > policy.earned_autonomy.max_level or effective_level(session, policy, kind) >= level:
        return None
    run = streak(session, kind)
    return (run, level) if run >= policy.earned_autonomy.earn_after else None


def suggestion(
    session: Session, policy: Policy, kind: str, *, role: str
) -> AutonomySuggestion | None:
    """The offer to show after an unchanged approval: at N approvals in a row, then 2N..."""
    offer = _offer(session, policy, kind)
    if offer is None or offer[0] % policy.earned_autonomy.earn_after:
        return None
    run, level = offer
    confirm_role = policy.role_for("raise_autonomy")
    return AutonomySuggestion(
        kind=kind,
        streak=run,
        level=level,
        text=f"You approved {kind} unchanged {run} times in a row. "
        "Let Baton run it without asking?",
        can_confirm=policy.allows(role, "raise_autonomy"),
        confirm_role=confirm_role,
    )


def _known(session: Session, kind: str) -> None:
    try:
        skill_for(kind)
    except KeyError:
        raise DecisionError("not_found", f"There is no action kind {kind!r}.") from None


def raise_level(
    session: Session, policy: Policy, *, kind: str, actor: Actor, now: datetime
) -> AutonomyGrant:
    """Confirm a suggestion: re-check the role and that it is still on offer, then grant it."""
    _known(session, kind)
    policy.require(actor.name, actor.role, "raise_autonomy")
    offer = _offer(session, policy, kind)
    if offer is None:
        needed = policy.earned_autonomy.earn_after
        raise DecisionError(
            "invalid",
            f"Raising {kind} is not on offer: Baton suggests it only after {needed} unchanged "
            f"approvals in a row (now {streak(session, kind)}), for kinds that still ask first "
            f"and up to level {policy.earned_autonomy.max_level}.",
        )
    run, level = offer
    grant = AutonomyGrant(
        kind=kind,
        level=level,
        policy_level=policy.autonomy_for(kind),
        streak=run,
        granted_by=actor.name,
        granted_at=now,
        policy_hash=policy.sha256,
    )
    session.add(grant)
    session.flush()
    session.info.pop(_GRANTS, None)
    append_audit(
        session,
        at=now,
        actor=actor.name,
        kind="autonomy.raised",
        entity="autonomy",
        entity_id=kind,
        data={
            "grant_id": grant.id,
            "level": level,
            "policy_level": grant.policy_level,
            "streak": run,
            "policy_hash": policy.sha256,
        },
    )
    return grant


def lower(
    session: Session,
    *,
    kind: str,
    actor: str,
    reason: str,
    now: datetime,
    decision_id: int | None = None,
) -> AutonomyGrant | None:
    """Revoke the kind's confirmed autonomy (None when it has none); policy.toml applies again."""
    grant = active_grant(session, kind)
    if grant is None:
        return None
    grant.revoked_at, grant.revoked_by, grant.revoked_reason = now, actor, reason
    grant.revoked_by_decision_id = decision_id
    session.add(grant)
    session.info.pop(_GRANTS, None)
    append_audit(
        session,
        at=now,
        actor=actor,
        kind="autonomy.lowered",
        entity="autonomy",
        entity_id=kind,
        data={"grant_id": grant.id, "reason": reason, "decision_id": decision_id},
    )
    return grant


def lowered_by(session: Session, decision_id: int) -> AutonomyGrant | None:
    """The grant a rejection revoked, if it revoked one."""
    return session.exec(
        select(AutonomyGrant).where(AutonomyGrant.revoked_by_decision_id == decision_id)
    ).first()


def raised_sentence(grant: AutonomyGrant) -> str:
    return (
        f"Baton now runs {grant.kind} without asking while it stays inside policy (autonomy "
        f"{grant.level}; policy.toml says {grant.policy_level}). The next rejection of "
        f"{grant.kind} puts it back to asking first."
    )


def lowered_sentence(session: Session, policy: Policy, kind: str, *, because: str = "") -> str:
    """Where the kind stands once its raised autonomy is withdrawn."""
    level = effective_level(session, policy, kind)
    if level >= RUNS_BY_ITSELF_AT[skill_for(kind).risk]:
        return (
            f"Baton's raised autonomy for {kind} is withdrawn{because}; policy.toml still lets "
            f"it run by itself (level {level})."
        )
    return f"Autonomy for {kind} is back to asking first{because}."


def after_decision(
    session: Session,
    policy: Policy,
    *,
    action_id: str,
    tool: str,
    unchanged_approval: bool,
    role: str,
) -> tuple[str | None, AutonomySuggestion | None]:
    """For the person who just decided: what a rejection lowered, or what approvals earned."""
    if unchanged_approval:  # an action that was approved was never rejected
        return None, suggestion(session, policy, tool, role=role)
    rejection = session.exec(
        select(Decision)
        .where(Decision.action_id == action_id, Decision.verdict == "reject")
        .order_by(col(Decision.id).desc())
    ).first()
    if rejection is not None and rejection.id is not None:
        if lowered_by(session, rejection.id) is None:
            return None, None
        because = f", because you rejected {action_id} (“{rejection.reason}”)"
        return lowered_sentence(session, policy, tool, because=because), None
    return None, None


def decline(session: Session, *, kind: str, actor: str, now: datetime) -> None:
    """Keep asking: recorded, so the audit shows the offer was seen and turned down."""
    append_audit(
        session,
        at=now,
        actor=actor,
        kind="autonomy.declined",
        entity="autonomy",
        entity_id=kind,
        data={"streak": streak(session, kind)},
    )


def overview(session: Session, policy: Policy) -> list[KindAutonomy]:
    """Every kind that has been proposed or granted: history, streak, levels."""
    kinds = set(session.exec(select(Action.tool).distinct()))
    kinds |= set(session.exec(select(AutonomyGrant.kind).distinct()))
    rows: list[KindAutonomy] = []
    for kind in sorted(kinds):
        everything = _all_outcomes(session, kind)
        grant = active_grant(session, kind)
        risk = skill_for(kind).risk
        effective = effective_level(session, policy, kind)
        rows.append(
            KindAutonomy(
                kind=kind,
                risk=risk,
                approved_unchanged=everything.count("approved"),
                edited=everything.count("edited"),
                rejected=everything.count("rejected"),
                streak=streak(session, kind),
                policy_level=policy.autonomy_for(kind),
                granted_level=grant.level if grant else None,
                granted_by=grant.granted_by if grant else None,
                granted_at=grant.granted_at.isoformat() if grant else None,
                effective_level=effective,
                runs_by_itself=effective >= RUNS_BY_ITSELF_AT[risk],
                suggested=_offer(session, policy, kind) is not None,
            )
        )
    return rows


def _all_outcomes(session: Session, kind: str) -> list[Outcome]:
    query = (
        select(Decision.action_id, Decision.verdict)
        .join(Action, col(Action.id) == col(Decision.action_id))
        .where(Action.tool == kind, col(Decision.verdict).in_(HUMAN_VERDICTS))
    )
    by_action: dict[str, set[str]] = {}
    for action_id, verdict in session.exec(query):
        by_action.setdefault(action_id, set()).add(verdict)
    return [
        "rejected" if "reject" in v else "edited" if "edit" in v else "approved"
        for v in by_action.values()
    ]
