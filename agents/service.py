"""The service API the chat and the CLI share: plan a brief, list, decide, explain."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import col, select

from agents import accounts, kill_switch, lifecycle
from agents.bootstrap import DEMO_CONTACTS, FirstRun, initialise
from agents.lifecycle import Actor, DecisionError
from agents.policy import Operation, Policy, load_policy
from agents.views import (
    ActionView,
    PlanView,
    SpecialistTrace,
    load_action_views,
    plan_view,
    specialist_traces,
)
from db.engine import read_session, write_session
from db.models import Action, Plan

# The rest is imported where it is used, so that a read-only command (`baton actions`)
# loads none of the planners, specialists, model client or why modules.
if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from agents import workspace
    from agents.decision import DecisionOutcome, DecisionRequest
    from agents.llm.runtime import ModelRuntime
    from agents.memory.autonomy import KindAutonomy
    from agents.memory.lessons import LessonView
    from agents.specialists.refinement import SpecialistModel
    from agents.why.comparison import WhyNot
    from agents.why.explain import Explanation
    from db.memory_models import Feedback
    from db.settings import Settings
    from tools.feedback import FeedbackHit
    from workspace.demo import DemoStats
    from workspace.importer import ImportReport

MAX_BRIEF_CHARS = 4000


class Baton:
    """One data directory's Baton: its database, policy file and planner."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self._policy: tuple[tuple[int, int], Policy] | None = None

    @classmethod
    def open(
        cls, settings: Settings, *, today: date | None = None, demo_contacts: int = DEMO_CONTACTS
    ) -> tuple[Baton, FirstRun]:
        """Initialise the data directory if needed and finish work a crash interrupted."""
        engine, first_run = initialise(settings, today=today, demo_contacts=demo_contacts)
        baton = cls(settings, engine)
        with read_session(engine) as session:
            interrupted = lifecycle.interrupted(session)
        if interrupted:
            from agents import orchestrator

            orchestrator.resume(engine, baton.policy())
        return baton, first_run

    def close(self) -> None:
        """Close its database connections; the last to close folds the WAL into the file."""
        self.engine.dispose()

    def policy(self) -> Policy:
        """The policy file as it is now: an edited file applies to the next decision.

        Parsed again only when the file's size or modification time changed.
        """
        path = self.settings.policy_path
        try:
            stat = path.stat()
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp is None or self._policy is None or self._policy[0] != stamp:
            policy = load_policy(path)
            self._policy = (stamp, policy) if stamp is not None else None
            return policy
        return self._policy[1]

    def require(self, actor: str, operation: Operation) -> Actor:
        """The user with their stored role, if policy lets that role do this; else a refusal."""
        who = accounts.actor_for(self.engine, actor)
        self.policy().require(who.name, who.role, operation)
        return who

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

    def _runtime(self) -> ModelRuntime:
        from agents.llm.runtime import ModelRuntime

        return ModelRuntime(self.settings)

    @contextmanager
    def _specialists(
        self, plan_id: str, planner: str | None = None, runtime: ModelRuntime | None = None
    ) -> Iterator[SpecialistModel | None]:
        """The specialist model for an LLM-planned plan; None for offline plans."""
        if planner is None:
            with read_session(self.engine) as session:
                plan = session.get(Plan, plan_id)
                planner = plan.planner if plan is not None else "offline"
        if planner != "llm" or not self.settings.llm_enabled:
            yield None
            return
        from agents.llm.accounting import brief_meter
        from agents.specialists.refinement import SpecialistModel

        with self._runtime() if runtime is None else nullcontext(runtime) as shared:
            yield SpecialistModel(
                shared,
                lambda action_id: brief_meter(
                    self.engine, plan_id=plan_id, config=self.settings.llm, action_id=action_id
                ),
            )

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
        who = self.require(actor, "plan")
        from agents import ledger, orchestrator
        from agents.llm.accounting import brief_meter
        from agents.planning.planner import draft_plan

        today = today or datetime.now(UTC).date()
        plan_id = lifecycle.new_id("plan")
        config = self.settings.llm
        meter = brief_meter(self.engine, plan_id=plan_id, config=config)
        with self._runtime() if self.settings.llm_enabled else nullcontext() as runtime:
            draft, notices = draft_plan(
                brief, today=today, runtime=runtime, config=config, meter=meter
            )
            with write_session(self.engine) as session:
                ledger.record_plan(
                    session,
                    draft,
                    plan_id=plan_id,
                    brief=brief,
                    actor=who.name,
                    today=today,
                    thread_id=thread_id,
                    notices=notices,
                    now=datetime.now(UTC),
                )
            with self._specialists(plan_id, runtime=runtime) as model:
                orchestrator.advance(self.engine, plan_id, self.policy(), model=model)
            return self.get_plan(plan_id)

    def narrate(self, plan: PlanView) -> AsyncIterator[str]:
        """The orchestrator's narrative for a plan, streamed (composed when offline)."""
        from agents.why import narrator

        return narrator.stream(self.settings, self.engine, plan)

    def answer_why(self, explanation: Explanation) -> AsyncIterator[str]:
        """The answer to a why question, streamed: the model's phrasing of the record (when a
        model is configured), then the record itself."""
        from agents.why import narrator

        return narrator.phrase_why(self.settings, self.engine, explanation)

    def specialist_traces(self, plan_id: str) -> list[SpecialistTrace]:
        with read_session(self.engine) as session:
            return specialist_traces(session, plan_id)

    def get_plan(self, plan_id: str) -> PlanView:
        with read_session(self.engine) as session:
            plan = session.get(Plan, plan_id)
            if plan is None:
                raise DecisionError("not_found", f"There is no plan {plan_id}.")
            return plan_view(session, plan, self.policy())

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
            return load_action_views(session, actions, self.policy())

    def get_action(self, action_id: str) -> ActionView:
        with read_session(self.engine) as session:
            action = session.get(Action, action_id)
            if action is None:
                raise DecisionError("not_found", f"There is no action {action_id}.")
            return load_action_views(session, [action], self.policy())[0]

    def decide(self, request: DecisionRequest, *, actor: str) -> DecisionOutcome:
        """Check the decision against stored state and the actor's stored role, then apply it."""
        from agents import orchestrator
        from agents.decision import carried_outcome, outcome_of

        policy = self.policy()
        decided = orchestrator.decide(
            self.engine,
            action_id=request.action_id,
            revision=request.revision,
            verdict=request.verdict,
            user=actor,
            policy=policy,
            changes=request.changes,
            reason=request.reason,
            specialists=self._specialists,
        )
        outcome = carried_outcome(decided, policy)
        if outcome is not None:
            return outcome
        with read_session(self.engine) as session:
            return outcome_of(session, decided, request, policy)

    # --- why ----------------------------------------------------------------------------

    def explain(
        self, *, action_id: str | None = None, question: str = "", plan_id: str | None = None
    ) -> Explanation:
        """Explain an action from its decision record, focused on the parameter the question means.

        Without an id, the question also picks the action (the plan's, else the latest plan's).
        """
        from agents.why.explain import explain
        from agents.why.question import resolve_target

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
        from agents.why.comparison import compare_alternative

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
        from agents.memory.feedback import record_feedback

        with write_session(self.engine) as session:
            return record_feedback(
                session,
                actor=actor,
                value=value,
                comment=comment,
                message_id=message_id,
                thread_id=thread_id,
                action_id=action_id,
                now=datetime.now(UTC),
            )

    def feedback(self) -> list[Feedback]:
        from agents.memory.feedback import list_feedback

        with read_session(self.engine) as session:
            return list_feedback(session)

    def search_feedback(self, query: str, *, limit: int = 10) -> list[FeedbackHit]:
        """Feedback whose comment matches any word of the query, most relevant first."""
        from tools.feedback import search_feedback

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
        from agents import workspace

        who = self.require(actor, "import")
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
        from agents import workspace

        who = self.require(actor, "regenerate")
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
        who = self.require(actor, "kill_switch")
        with write_session(self.engine) as session:
            return kill_switch.set_kill_switch(session, on=on, actor=who, now=datetime.now(UTC))

    def kill_switch_on(self) -> bool:
        with read_session(self.engine) as session:
            return kill_switch.kill_switch_on(session)

    # --- lessons ------------------------------------------------------------------------

    def list_lessons(self, *, include_inactive: bool = False) -> list[LessonView]:
        from agents.memory.lessons import list_lessons

        with read_session(self.engine) as session:
            return list_lessons(session, include_inactive=include_inactive)

    def forget_lesson(self, lesson_id: int, *, actor: str) -> str:
        """Stop applying a lesson; returns its statement."""
        from agents.memory.lessons import forget

        who = self.require(actor, "forget_lesson")
        with write_session(self.engine) as session:
            forgotten = forget(session, lesson_id, actor=who.name, now=datetime.now(UTC))
            if forgotten is None:
                raise DecisionError("not_found", f"There is no active lesson {lesson_id}.")
            lesson, reinstated = forgotten
            again = "".join(f"; lesson {x.id} applies again: {x.statement}" for x in reinstated)
            return lesson.statement + again

    # --- earned autonomy ----------------------------------------------------------------

    def autonomy_overview(self) -> list[KindAutonomy]:
        """Per action kind: approvals, edits, rejections, the current streak and levels."""
        from agents.memory import autonomy

        with read_session(self.engine) as session:
            return autonomy.overview(session, self.policy())

    def raise_autonomy(self, kind: str, *, actor: str) -> str:
        """Accept Baton's suggestion for one kind; role and offer are re-checked here."""
        from agents.memory import autonomy

        who = accounts.actor_for(self.engine, actor)
        with write_session(self.engine) as session:
            grant = autonomy.raise_level(
                session, self.policy(), kind=kind, actor=who, now=datetime.now(UTC)
            )
            return autonomy.raised_sentence(grant)

    def lower_autonomy(self, kind: str, *, actor: str) -> str:
        """Withdraw a kind's raised autonomy: it asks first again (unless policy.toml says not)."""
        from agents.memory import autonomy

        who = self.require(actor, "lower_autonomy")
        policy = self.policy()
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
        from agents.memory import autonomy

        who = self.require(actor, "lower_autonomy")
        policy = self.policy()
        with write_session(self.engine) as session:
            autonomy.decline(session, kind=kind, actor=who.name, now=datetime.now(UTC))
        after = policy.earned_autonomy.earn_after
        return f"Baton keeps asking before {kind}; it offers again after {after} more approvals."

    def actor(self, name: str) -> Actor:
        """A user with the role stored for them."""
        return accounts.actor_for(self.engine, name)

    def authenticate(self, name: str, password: str) -> Actor | None:
        return accounts.authenticate(self.engine, name, password)

    def add_user(self, *, name: str, role: str, password: str, actor: str = "cli") -> None:
        accounts.add_user(self.engine, name=name, role=role, password=password, actor=actor)
