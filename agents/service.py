"""The service API the chat and the CLI share: plan a brief, list, decide, explain."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from agents import accounts, lessons, lifecycle, orchestrator, workspace
from agents.bootstrap import DEMO_CONTACTS, FirstRun, initialise
from agents.explain import Explanation, explain, resolve_action
from agents.lifecycle import Actor, DecisionError
from agents.offline_planner import plan_offline
from agents.policy import Policy, load_policy, role_rank
from agents.views import ActionView, PlanView, load_action_views, plan_view
from db.audit import append_audit
from db.engine import read_session, write_session
from db.models import Action, Feedback, Meta, Plan, Step
from db.settings import Settings
from tools.demo_data import DemoStats
from tools.importer import ImportReport

MAX_BRIEF_CHARS = 4000
Verdict = Literal["approve", "edit", "reject"]


class DecisionRequest(BaseModel):
    """All the server accepts from a client: actor X chose verdict V for action A revision R."""

    action_id: str = Field(min_length=1, max_length=64)
    revision: int = Field(ge=1)
    verdict: Verdict
    changes: dict[str, Any] = Field(default_factory=dict)
    reason: str = Field("", max_length=2000)


class DecisionOutcome(BaseModel):
    action: ActionView
    """The decided action as it now stands (executed, if the decision let it run)."""
    new_actions: list[ActionView]
    """Actions proposed (or run by policy) because this one finished."""


class Baton:
    """One data directory's Baton: its database, policy file and planner."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine

    @classmethod
    def open(
        cls, settings: Settings, *, today: date | None = None, demo_contacts: int = DEMO_CONTACTS
    ) -> tuple[Baton, FirstRun]:
        """Initialise the data directory if needed and finish work a crash interrupted."""
        engine, first_run = initialise(settings, today=today, demo_contacts=demo_contacts)
        baton = cls(settings, engine)
        orchestrator.resume(engine, baton.policy())
        return baton, first_run

    def policy(self) -> Policy:
        """Re-read on every use: an edited policy file applies to the next decision."""
        return load_policy(self.settings.policy_path)

    @property
    def planner_name(self) -> str:
        return "offline"

    @property
    def planner_label(self) -> str:
        if self.settings.model:
            return (
                f"Offline planner (model {self.settings.model} is configured, but the LLM "
                f"planner is not available in this version)"
            )
        return "Offline planner (no model configured: deterministic playbooks)"

    # --- planning -----------------------------------------------------------------------

    def plan_brief(
        self, brief: str, *, actor: str, today: date | None = None, thread_id: str | None = None
    ) -> PlanView:
        """Turn a brief into a stored plan and propose its first ready steps."""
        brief = brief.strip()
        if not brief:
            raise DecisionError("invalid", "The brief is empty: say what you want to achieve.")
        if len(brief) > MAX_BRIEF_CHARS:
            raise DecisionError(
                "invalid", f"The brief is longer than {MAX_BRIEF_CHARS} characters; shorten it."
            )
        who = accounts.actor_for(self.engine, actor)
        if who.role == "viewer":
            raise DecisionError(
                "forbidden", f"{who.name} is a viewer; planning needs the marketer role."
            )
        today = today or datetime.now(UTC).date()
        draft = plan_offline(brief, today=today)
        now = datetime.now(UTC)
        plan = Plan(
            id=lifecycle.new_id("plan"),
            brief=brief,
            goal=draft.goal.model_dump(mode="json"),
            planner=draft.planner,
            today=today,
            created_by=who.name,
            created_at=now,
            thread_id=thread_id,
        )
        ids = {s.key: lifecycle.new_id("step") for s in draft.steps}
        with write_session(self.engine) as session:
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
                actor=who.name,
                kind="plan.created",
                entity="plan",
                entity_id=plan.id,
                data={"brief": brief, "planner": draft.planner, "playbook": draft.goal.playbook},
            )
        orchestrator.advance(self.engine, plan.id, self.policy())
        return self.get_plan(plan.id)

    def get_plan(self, plan_id: str) -> PlanView:
        with read_session(self.engine) as session:
            plan = session.get(Plan, plan_id)
            if plan is None:
                raise DecisionError("not_found", f"There is no plan {plan_id}.")
            return plan_view(session, plan)

    def latest_plan_id(self, *, thread_id: str | None = None) -> str | None:
        with read_session(self.engine) as session:
            query = select(Plan.id)
            if thread_id:
                query = query.where(Plan.thread_id == thread_id)
            return session.exec(query.order_by(col(Plan.created_at).desc()).limit(1)).first()

    # --- actions ------------------------------------------------------------------------

    def list_actions(
        self, *, plan_id: str | None = None, status: str | None = None
    ) -> list[ActionView]:
        with read_session(self.engine) as session:
            query = select(Action)
            if plan_id:
                query = query.where(Action.plan_id == plan_id)
            if status:
                query = query.where(Action.status == status)
            actions = list(session.exec(query.order_by(col(Action.created_at))))
            return load_action_views(session, actions)

    def get_action(self, action_id: str) -> ActionView:
        with read_session(self.engine) as session:
            action = session.get(Action, action_id)
            if action is None:
                raise DecisionError("not_found", f"There is no action {action_id}.")
            return load_action_views(session, [action])[0]

    def decide(self, request: DecisionRequest, *, actor: str) -> DecisionOutcome:
        """Check the decision against stored state and the actor's stored role, then apply it."""
        who = accounts.actor_for(self.engine, actor)
        policy = self.policy()
        before = {a.action_id for a in self.list_actions(plan_id=self._plan_of(request))}
        if request.verdict == "reject":
            orchestrator.reject(
                self.engine,
                action_id=request.action_id,
                revision=request.revision,
                actor=who,
                reason=request.reason,
                policy=policy,
            )
        else:
            revision = request.revision
            if request.changes:
                edited = orchestrator.edit(
                    self.engine,
                    action_id=request.action_id,
                    revision=revision,
                    actor=who,
                    changes=request.changes,
                    policy=policy,
                )
                revision = edited.revision
            if request.verdict == "approve":
                orchestrator.approve(
                    self.engine,
                    action_id=request.action_id,
                    revision=revision,
                    actor=who,
                    policy=policy,
                )
                orchestrator.execute(self.engine, request.action_id, policy)
                action = self.get_action(request.action_id)
                orchestrator.advance(self.engine, action.plan_id, policy)
        action = self.get_action(request.action_id)
        new = [a for a in self.list_actions(plan_id=action.plan_id) if a.action_id not in before]
        return DecisionOutcome(action=action, new_actions=new)

    def _plan_of(self, request: DecisionRequest) -> str | None:
        with read_session(self.engine) as session:
            action = session.get(Action, request.action_id)
            if action is None:
                raise DecisionError("not_found", f"There is no action {request.action_id}.")
            return action.plan_id

    # --- why ----------------------------------------------------------------------------

    def explain(
        self, *, action_id: str | None = None, question: str = "", plan_id: str | None = None
    ) -> Explanation:
        """Explain an action from its decision record; without an id, the one the question means."""
        with read_session(self.engine) as session:
            if action_id is None:
                action = resolve_action(session, question, plan_id=plan_id)
                if action is None:
                    raise DecisionError(
                        "not_found", "There is nothing to explain yet: plan a brief first."
                    )
                action_id = action.id
            explanation = explain(session, action_id)
        if explanation is None:
            raise DecisionError("not_found", f"There is no action {action_id}.")
        return explanation

    # --- feedback, switches, people ------------------------------------------------------

    def record_feedback(
        self,
        *,
        actor: str,
        value: int,
        comment: str = "",
        message_id: str | None = None,
        thread_id: str | None = None,
        action_id: str | None = None,
    ) -> None:
        now = datetime.now(UTC)
        with write_session(self.engine) as session:
            existing = (
                session.exec(
                    select(Feedback).where(
                        Feedback.message_id == message_id, Feedback.actor == actor
                    )
                ).first()
                if message_id
                else None
            )
            row = existing or Feedback(
                actor=actor,
                value=value,
                message_id=message_id,
                thread_id=thread_id,
                action_id=action_id,
                created_at=now,
            )
            row.value, row.comment = (1 if value > 0 else -1), comment.strip()[:2000]
            session.add(row)
            append_audit(
                session,
                at=now,
                actor=actor,
                kind="feedback.recorded",
                entity="feedback",
                entity_id=message_id or action_id or "",
                data={"value": row.value, "comment": row.comment},
            )

    def feedback(self) -> list[Feedback]:
        with read_session(self.engine) as session:
            return list(session.exec(select(Feedback).order_by(col(Feedback.id))))

    # --- workspace data -------------------------------------------------------------------

    def import_csv(
        self,
        kind: workspace.ImportKind | None,
        path: Path,
        *,
        actor: str,
        progress: workspace.Progress | None = None,
    ) -> ImportReport:
        """Import a CSV (kind detected from its header when None); all or nothing."""
        who = accounts.actor_for(self.engine, actor)
        return workspace.import_file(
            self.engine,
            kind=kind or workspace.detect_kind(path),
            path=path,
            actor=who,
            progress=progress,
        )

    def regenerate_demo(
        self,
        *,
        contacts: int,
        seed: int,
        actor: str,
        replace_imported: bool = False,
        target_events: int | None = None,
    ) -> DemoStats:
        who = accounts.actor_for(self.engine, actor)
        return workspace.regenerate_demo(
            self.engine,
            contacts=contacts,
            seed=seed,
            actor=who,
            replace_imported=replace_imported,
            target_events=target_events,
        )

    def set_kill_switch(self, *, on: bool, actor: str) -> int:
        """Engage or release the kill switch; engaging cancels approved actions not yet started."""
        who = accounts.actor_for(self.engine, actor)
        if who.role not in ("approver", "admin"):
            raise DecisionError(
                "forbidden", f"{who.name} is a {who.role}; the kill switch needs the approver role."
            )
        now = datetime.now(UTC)
        cancelled = 0
        with write_session(self.engine) as session:
            session.merge(Meta(key=lifecycle.KILL_SWITCH_KEY, value="on" if on else "off"))
            append_audit(
                session,
                at=now,
                actor=who.name,
                kind="kill_switch." + ("engaged" if on else "released"),
                entity="workspace",
                entity_id="",
            )
            if on:
                for action in session.exec(select(Action).where(Action.status == "approved")):
                    lifecycle.cancel(
                        session, action, actor=who, reason="kill switch engaged", now=now
                    )
                    cancelled += 1
        return cancelled

    def kill_switch_on(self) -> bool:
        with read_session(self.engine) as session:
            return lifecycle.kill_switch_on(session)

    # --- lessons ------------------------------------------------------------------------

    def list_lessons(self, *, include_inactive: bool = False) -> list[lessons.LessonView]:
        with read_session(self.engine) as session:
            return lessons.list_lessons(session, include_inactive=include_inactive)

    def forget_lesson(self, lesson_id: int, *, actor: str) -> str:
        """Stop applying a lesson; returns its statement."""
        who = accounts.actor_for(self.engine, actor)
        if role_rank(who.role) < role_rank("marketer"):
            raise DecisionError(
                "forbidden", f"{who.name} is a {who.role}; forgetting lessons needs a marketer."
            )
        with write_session(self.engine) as session:
            lesson = lessons.forget(session, lesson_id, actor=who.name, now=datetime.now(UTC))
            if lesson is None:
                raise DecisionError("not_found", f"There is no active lesson {lesson_id}.")
            return lesson.statement

    def actor(self, name: str) -> Actor:
        """A user with the role stored for them."""
        return accounts.actor_for(self.engine, name)

    def authenticate(self, name: str, password: str) -> Actor | None:
        return accounts.authenticate(self.engine, name, password)

    def add_user(self, *, name: str, role: str, password: str, actor: str = "cli") -> None:
        accounts.add_user(self.engine, name=name, role=role, password=password, actor=actor)
