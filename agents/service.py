"""The service API the chat and the CLI share: plan a brief, list, decide, explain."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from agents import accounts, lifecycle, orchestrator, workspace
from agents.bootstrap import DEMO_CONTACTS, FirstRun, initialise
from agents.lifecycle import Actor, DecisionError
from agents.llm.accounting import brief_meter
from agents.llm.client import ModelError
from agents.llm.runtime import ModelRuntime
from agents.memory import autonomy, lessons
from agents.planning import llm_planner
from agents.planning.goal import PlanDraft
from agents.planning.offline import plan_offline
from agents.policy import Policy, load_policy, role_rank
from agents.specialists.refinement import SpecialistModel
from agents.views import (
    ActionView,
    PlanView,
    RevisionView,
    SpecialistTrace,
    load_action_views,
    plan_view,
    specialist_traces,
)
from agents.why import narrator
from agents.why.comparison import WhyNot, compare_alternative
from agents.why.explain import Explanation, explain
from agents.why.question import resolve_target
from db.audit import append_audit
from db.engine import read_session, write_session
from db.models import Action, Feedback, Meta, Plan, Step
from db.settings import Settings
from tools.feedback import FeedbackHit, search_feedback
from workspace.demo import DemoStats
from workspace.importer import ImportReport

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
    lesson: str | None = None
    """What this decision taught, if anything ("no sends on Sunday")."""
    autonomy_note: str | None = None
    """Set when a rejection put this kind of action back to asking first."""
    autonomy_suggestion: autonomy.AutonomySuggestion | None = None
    """Baton's offer to let this kind run by itself; only `raise_autonomy` accepts it."""
    revisions: list[RevisionView] = Field(default_factory=list)
    """Plan versions this decision's result led to (the orchestrator re-planned)."""
    questions: list[str] = Field(default_factory=list)
    """What the orchestrator needs the marketer to settle before the plan can go on."""


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
        return "llm" if self.settings.llm_enabled else "offline"

    @property
    def planner_label(self) -> str:
        if self.settings.llm_enabled:
            return f"LLM planner ({self.settings.model} via {self.settings.endpoint_label})"
        if self.settings.model:
            return (
                f"Offline planner (BATON_MODEL is {self.settings.model}, but no endpoint is "
                "set: add OPENAI_API_KEY, OPENAI_BASE_URL or AZURE_OPENAI_ENDPOINT)"
            )
        return "Offline planner (no model configured: deterministic playbooks)"

    @contextmanager
    def _specialists(
        self, plan_id: str, runtime: ModelRuntime | None = None
    ) -> Iterator[SpecialistModel | None]:
        """The specialist model for an LLM-planned plan; None for offline plans."""
        with read_session(self.engine) as session:
            plan = session.get(Plan, plan_id)
            planner = plan.planner if plan is not None else "offline"
        if planner != "llm" or not self.settings.llm_enabled:
            yield None
            return
        with ModelRuntime(self.settings) if runtime is None else nullcontext(runtime) as shared:
            yield SpecialistModel(
                shared,
                lambda action_id: brief_meter(
                    self.engine, plan_id=plan_id, config=self.settings.llm, action_id=action_id
                ),
            )

    def _draft(
        self, brief: str, *, today: date, plan_id: str, runtime: ModelRuntime | None
    ) -> tuple[PlanDraft, list[str]]:
        """Plan with the model if one is configured; offline otherwise, or when the model fails."""
        if runtime is None:
            return plan_offline(brief, today=today), []
        config = self.settings.llm
        try:
            reply = runtime.run(
                runtime.asker.ask(
                    agent="planner",
                    system=llm_planner.system_prompt(today=today, max_steps=config.max_steps),
                    user=llm_planner.user_prompt(brief),
                    schema=llm_planner.PlanReply,
                    meter=brief_meter(self.engine, plan_id=plan_id, config=config),
                    check=lambda r: llm_planner.check_plan(
                        r, today=today, max_steps=config.max_steps
                    ),
                )
            )
            return llm_planner.draft_from_reply(reply, brief=brief, today=today), []
        except ModelError as exc:
            notice = f"The LLM planner failed: {exc} Baton planned this brief offline instead."
            return plan_offline(brief, today=today), [notice]

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
        plan_id = lifecycle.new_id("plan")
        with ModelRuntime(self.settings) if self.settings.llm_enabled else nullcontext() as runtime:
            return self._plan(brief, who=who, today=today, plan_id=plan_id,
                              thread_id=thread_id, runtime=runtime)  # fmt: skip

    def _plan(
        self,
        brief: str,
        *,
        who: Actor,
        today: date,
        plan_id: str,
        thread_id: str | None,
        runtime: ModelRuntime | None,
    ) -> PlanView:
        draft, notices = self._draft(brief, today=today, plan_id=plan_id, runtime=runtime)
        now = datetime.now(UTC)
        plan = Plan(
            id=plan_id,
            brief=brief,
            goal=draft.goal.model_dump(mode="json"),
            planner=draft.planner,
            today=today,
            created_by=who.name,
            created_at=now,
            thread_id=thread_id,
            notices=notices,
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
                data={
                    "brief": brief,
                    "planner": draft.planner,
                    "playbook": draft.goal.playbook,
                    "notices": notices,
                },
            )
        with self._specialists(plan.id, runtime) as model:
            orchestrator.advance(self.engine, plan.id, self.policy(), model=model)
        return self.get_plan(plan.id)

    def narrate(self, plan: PlanView) -> AsyncIterator[str]:
        """The orchestrator's narrative for a plan, streamed (composed when offline)."""
        return narrator.stream(self.settings, self.engine, plan)

    def answer_why(self, explanation: Explanation) -> AsyncIterator[str]:
        """The answer to a why question, streamed: the model's phrasing of the record (when a
        model is configured), then the record itself."""
        return narrator.phrase_why(self.settings, self.engine, explanation)

    def specialist_traces(self, plan_id: str) -> list[SpecialistTrace]:
        with read_session(self.engine) as session:
            return specialist_traces(session, plan_id)

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
        plan_before = self.get_plan(self._plan_of(request))
        before = {a.action_id for a in self.list_actions(plan_id=plan_before.plan_id)}
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
                with self._specialists(action.plan_id) as model:
                    orchestrator.advance(self.engine, action.plan_id, policy, model=model)
        action = self.get_action(request.action_id)
        new = [a for a in self.list_actions(plan_id=action.plan_id) if a.action_id not in before]
        taught = self._what_it_taught(request, who, policy, action.tool)
        plan_after = self.get_plan(action.plan_id)
        return DecisionOutcome(
            action=action,
            new_actions=new,
            revisions=plan_after.revisions[len(plan_before.revisions) :],
            questions=[n for n in plan_after.notices if n not in plan_before.notices],
            **taught,
        )

    def _what_it_taught(
        self, request: DecisionRequest, who: Actor, policy: Policy, tool: str
    ) -> dict[str, Any]:
        """The lessons a decision taught and what it changed or earned in autonomy."""
        with read_session(self.engine) as session:
            taught = lessons.taught_by(
                session, action_id=request.action_id, from_revision=request.revision
            )
            note, offer = autonomy.after_decision(
                session,
                policy,
                action_id=request.action_id,
                tool=tool,
                unchanged_approval=request.verdict == "approve" and not request.changes,
                role=who.role,
            )
        lesson = "; ".join(lessons.rule_text(x) for x in taught) or None
        return {"lesson": lesson, "autonomy_note": note, "autonomy_suggestion": offer}

    def _plan_of(self, request: DecisionRequest) -> str:
        with read_session(self.engine) as session:
            action = session.get(Action, request.action_id)
            if action is None:
                raise DecisionError("not_found", f"There is no action {request.action_id}.")
            return action.plan_id

    # --- why ----------------------------------------------------------------------------

    def explain(
        self, *, action_id: str | None = None, question: str = "", plan_id: str | None = None
    ) -> Explanation:
        """Explain an action from its decision record, focused on the parameter the question means.

        Without an id, the question also picks the action (the plan's, else the latest plan's).
        """
        with read_session(self.engine) as session:
            target = resolve_target(session, question, plan_id=plan_id, action_id=action_id)
            if target is None and action_id is None:
                raise DecisionError(
                    "not_found", "There is nothing to explain yet: plan a brief first."
                )
            action_id = target.action.id if target else action_id
            explanation = explain(session, str(action_id), question=question, target=target)
        if explanation is None:
            raise DecisionError("not_found", f"There is no action {action_id}.")
        return explanation

    def why_not(
        self, *, question: str, action_id: str | None = None, plan_id: str | None = None
    ) -> WhyNot:
        """Compare an action's chosen value with the alternative a question names ("why not
        Sunday?"): the tool re-runs with it and the policy gate checks it; nothing is written."""
        with read_session(self.engine) as session:
            return compare_alternative(
                session, self.policy(), question=question, action_id=action_id, plan_id=plan_id
            )

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
    ) -> str | None:
        """Keep a thumbs up/down; a thumbs-down comment on an action may teach a lesson.

        Returns what it taught ("SMS share of budget <= 20%"), or None.
        """
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
            session.flush()
            taught = lessons.learn_from_feedback(session, row, now=now)
            return "; ".join(lessons.rule_text(x) for x in taught) or None

    def feedback(self) -> list[Feedback]:
        with read_session(self.engine) as session:
            return list(session.exec(select(Feedback).order_by(col(Feedback.id))))

    def search_feedback(self, query: str, *, limit: int = 10) -> list[FeedbackHit]:
        """Feedback whose comment matches any word of the query, most relevant first."""
        with read_session(self.engine) as session:
            return search_feedback(session, query, limit=limit)

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
            forgotten = lessons.forget(session, lesson_id, actor=who.name, now=datetime.now(UTC))
            if forgotten is None:
                raise DecisionError("not_found", f"There is no active lesson {lesson_id}.")
            lesson, reinstated = forgotten
            again = "".join(f"; lesson {x.id} applies again: {x.statement}" for x in reinstated)
            return lesson.statement + again

    # --- earned autonomy ----------------------------------------------------------------

    def autonomy_overview(self) -> list[autonomy.KindAutonomy]:
        """Per action kind: approvals, edits, rejections, the current streak and levels."""
        with read_session(self.engine) as session:
            return autonomy.overview(session, self.policy())

    def raise_autonomy(self, kind: str, *, actor: str) -> str:
        """Accept Baton's suggestion for one kind; role and offer are re-checked here."""
        who = accounts.actor_for(self.engine, actor)
        with write_session(self.engine) as session:
            grant = autonomy.raise_level(
                session, self.policy(), kind=kind, actor=who, now=datetime.now(UTC)
            )
            return autonomy.raised_sentence(grant)

    def lower_autonomy(self, kind: str, *, actor: str) -> str:
        """Withdraw a kind's raised autonomy: it asks first again (unless policy.toml says not)."""
        who = accounts.actor_for(self.engine, actor)
        policy = self.policy()
        self._require(who, policy.approvals.decide_role, "lowering autonomy")
        with write_session(self.engine) as session:
            grant = autonomy.lower(
                session, kind=kind, actor=who.name, reason="lowered by hand", now=datetime.now(UTC)
            )
            if grant is None:
                raise DecisionError(
                    "not_found",
                    f"{kind} has no raised autonomy to lower; its level comes from policy.toml.",
                )
            return autonomy.lowered_sentence(session, policy, kind)

    def decline_autonomy(self, kind: str, *, actor: str) -> str:
        """Turn Baton's suggestion down for now (recorded); it offers again later."""
        who = accounts.actor_for(self.engine, actor)
        policy = self.policy()
        self._require(who, policy.approvals.decide_role, "answering this")
        with write_session(self.engine) as session:
            autonomy.decline(session, kind=kind, actor=who.name, now=datetime.now(UTC))
        after = policy.earned_autonomy.earn_after
        return f"Baton keeps asking before {kind}; it offers again after {after} more approvals."

    @staticmethod
    def _require(who: Actor, role: str, what: str) -> None:
        if role_rank(who.role) < role_rank(role):
            raise DecisionError(
                "forbidden", f"{who.name} is a {who.role}; {what} needs the {role} role."
            )

    def actor(self, name: str) -> Actor:
        """A user with the role stored for them."""
        return accounts.actor_for(self.engine, name)

    def authenticate(self, name: str, password: str) -> Actor | None:
        return accounts.authenticate(self.engine, name, password)

    def add_user(self, *, name: str, role: str, password: str, actor: str = "cli") -> None:
        accounts.add_user(self.engine, name=name, role=role, password=password, actor=actor)
