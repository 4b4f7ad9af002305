"""The iterative ledger: store a drafted plan, then weigh each executed result against the goal.

The verdict is one of: continue (nothing to change), revise (a new plan version with a
step-by-step diff; steps already decided are left alone and never asked again), or ask
(the plan cannot sensibly go on without the marketer; the question is put on the plan).
The rules are deterministic and read only stored results, so both planners get the same
revisions and a revision can be explained from the record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlmodel import Session, col, select

from agents import lifecycle
from agents.lifecycle import Actor
from agents.planning.goal import Goal, PlanDraft
from agents.specialists.experiment import design_for_plan
from db.audit import append_audit
from db.models import Action, Plan, PlanRevision, Step
from db.vocabulary import UNDECIDED

LEDGER = Actor("orchestrator", "system")
DECIDED_OR_RUNNING = ("approved", "executing", "succeeded")


@dataclass
class StepChange:
    """A change to one current step: new inputs (and title), or dropped when inputs is None."""

    key: str
    inputs: dict[str, Any] | None
    detail: str
    title: str | None = None


@dataclass
class Review:
    verdict: Literal["continue", "revise", "ask"]
    reason: str = ""
    changes: list[StepChange] = field(default_factory=list)
    goal: dict[str, Any] | None = None
    """The goal after the revision, when it changes."""


def record_plan(
    session: Session,
    draft: PlanDraft,
    *,
    plan_id: str,
    brief: str,
    actor: str,
    today: date,
    thread_id: str | None,
    notices: list[str],
    now: datetime,
) -> Plan:
    """Store a planner's draft as version 1 of a new plan: the plan, its steps and the audit."""
    plan = Plan(
        id=plan_id,
        brief=brief,
        goal=draft.goal.model_dump(mode="json"),
        planner=draft.planner,
        today=today,
        created_by=actor,
        created_at=now,
        thread_id=thread_id,
        notices=notices,
    )
    ids = {s.key: lifecycle.new_id("step") for s in draft.steps}
    session.add(plan)
    session.flush()
    for position, s in enumerate(draft.steps):
        session.add(
            Step(
                id=ids[s.key],
                plan_id=plan.id,
                position=position,
                key=s.key,
                agent=s.agent,
                kind=s.kind,
                title=s.title,
                depends_on=[ids[d] for d in s.depends_on],
                inputs=s.inputs,
            )
        )
    append_audit(
        session,
        at=now,
        actor=actor,
        kind="plan.created",
        entity="plan",
        entity_id=plan.id,
        data={
            "brief": brief,
            "planner": draft.planner,
            "playbook": draft.goal.playbook,
            "notices": notices,
        },
    )
    return plan


def review(session: Session, plan: Plan, action: Action) -> Review:
    """What the result of `action` means for the rest of `plan`."""
    if action.tool != "build_segment" or not action.result:
        return Review("continue")
    result = action.result
    if int(result.get("size", 0)) == 0:
        return Review(
            "ask",
            f"The segment is empty: {result.get('matched', 0):,} contacts matched the rules and "
            "all were suppressed or none matched. Edit the segment's rules, or reject the "
            "plan; the next steps would reach nobody.",
        )
    goal = Goal.model_validate(plan.goal)
    steps = _current_steps(session, plan.id)
    by_channel: dict[str, int] = result.get("by_channel") or {}
    unreachable = [c for c in goal.channels if c in by_channel and by_channel[c] == 0]
    if unreachable and len(unreachable) < len(goal.channels):
        kept = [c for c in goal.channels if c not in unreachable]
        changes = [
            StepChange(
                s.key,
                {**s.inputs, "channels": [c for c in s.inputs["channels"] if c in kept]},
                f"channels {', '.join(s.inputs['channels'])} → "
                f"{', '.join(c for c in s.inputs['channels'] if c in kept)}",
            )
            for s in steps
            if isinstance(s.inputs.get("channels"), list)
            and set(s.inputs["channels"]) & set(unreachable)
            and s.key != "segment"
        ]
        names = ", ".join(unreachable)
        return Review(
            "revise",
            f"No one in the segment can be reached by {names} (0 of {result['size']:,} have "
            f"consent), so {names} is dropped from the remaining steps.",
            changes,
            goal={**plan.goal, "channels": kept},
        )
    test_step = next((s for s in steps if s.kind == "design_test"), None)
    if test_step is not None and "mde" not in test_step.inputs:
        design = design_for_plan(session, goal, plan.today, audience_size=int(result["size"]))
        if not design.feasible and design.detectable_mde is not None:
            return Review(
                "revise",
                f"The segment has {design.audience_size:,} contacts; detecting a "
                f"{design.mde:.1%} lift needs {design.total_needed:,}, so the test is "
                f"re-planned to detect {design.detectable_mde:.1%}, the smallest lift this "
                "audience can show.",
                [
                    StepChange(
                        test_step.key,
                        {**test_step.inputs, "mde": design.detectable_mde},
                        f"minimum detectable lift {design.mde:.1%} → {design.detectable_mde:.1%}",
                    )
                ],
            )
    return Review("continue")


def _current_steps(session: Session, plan_id: str) -> list[Step]:
    return list(
        session.exec(
            select(Step)
            .where(Step.plan_id == plan_id, col(Step.superseded_in).is_(None))
            .order_by(col(Step.position))
        )
    )


def apply(session: Session, plan: Plan, verdict: Review, *, trigger: Action, now: datetime) -> int:
    """Record a review's outcome; for a revision, make the new plan version. Returns it."""
    if verdict.verdict == "ask":
        if verdict.reason not in plan.notices:
            plan.notices = [*plan.notices, verdict.reason]
            session.add(plan)
            append_audit(
                session,
                at=now,
                actor=LEDGER.name,
                kind="plan.question",
                entity="plan",
                entity_id=plan.id,
                data={"question": verdict.reason, "after_action": trigger.id},
            )
        return plan.version
    if verdict.verdict != "revise":
        return plan.version
    actions = {a.step_id: a for a in session.exec(select(Action).where(Action.plan_id == plan.id))}
    steps = {s.key: s for s in _current_steps(session, plan.id)}

    def still_open(change: StepChange) -> bool:
        step = steps.get(change.key)
        action = actions.get(step.id) if step is not None else None
        return step is not None and (action is None or action.status in UNDECIDED)

    applicable = [c for c in verdict.changes if still_open(c)]
    if not applicable and verdict.goal is None:
        return plan.version
    version = plan.version + 1
    diff: list[dict[str, Any]] = []
    renamed: dict[str, str | None] = {}
    for change in applicable:
        old = steps[change.key]
        action = actions.get(old.id)
        if action is not None:
            lifecycle.supersede(session, action, actor=LEDGER, reason=verdict.reason, now=now)
        position = old.position
        old.superseded_in = version
        old.position = -(version * 1000 + position)
        session.add(old)
        session.flush()
        if change.inputs is None:
            renamed[old.id] = None
            diff.append({"change": "removed", "key": old.key, "title": old.title,
                         "detail": change.detail})  # fmt: skip
            continue
        new = Step(
            id=lifecycle.new_id("step"),
            plan_id=plan.id,
            position=position,
            key=old.key,
            agent=old.agent,
            kind=old.kind,
            title=change.title or old.title,
            depends_on=list(old.depends_on),
            inputs=change.inputs,
            added_in=version,
        )
        session.add(new)
        renamed[old.id] = new.id
        diff.append({"change": "changed", "key": old.key, "title": new.title,
                     "detail": change.detail})  # fmt: skip
    for step in _current_steps(session, plan.id):
        if any(d in renamed for d in step.depends_on):
            step.depends_on = [
                renamed.get(d, d) or "" for d in step.depends_on if renamed.get(d, d) is not None
            ]
            session.add(step)
    if verdict.goal is not None:
        plan.goal = verdict.goal
    plan.version = version
    session.add(plan)
    session.add(
        PlanRevision(
            plan_id=plan.id,
            version=version,
            reason=verdict.reason,
            diff=diff,
            trigger_action_id=trigger.id,
            created_at=now,
        )
    )
    append_audit(
        session,
        at=now,
        actor=LEDGER.name,
        kind="plan.revised",
        entity="plan",
        entity_id=plan.id,
        data={"version": version, "reason": verdict.reason, "diff": diff},
    )
    return version
