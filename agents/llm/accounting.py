"""What model calls cost: an LLMCall row per call, totals per plan, and the per-brief guards."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from db.engine import read_session, write_session
from db.models import LLMCall
from db.settings import LLMConfig

if TYPE_CHECKING:
    from agents.llm.client import CallRecord, Meter, Usage


class PlanUsage(BaseModel):
    """Model use for one plan (the `usage` field of `baton plan --json`)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = 0.0
    """USD; None when a call's model has no price in BATON_LLM_PRICES."""
    estimated: bool = False
    """Some token counts were estimated because the endpoint reported none."""

    def summary(self) -> str:
        if not self.calls:
            return "no model calls"
        cost = "cost unknown" if self.cost is None else f"${self.cost:,.4f}"
        tokens = self.prompt_tokens + self.completion_tokens
        approx = "~" if self.estimated else ""
        return f"{self.calls} model calls · {approx}{tokens:,} tokens · {cost}"


def cost_of(config: LLMConfig, model: str, usage: Usage) -> float | None:
    price = config.prices.get(model)
    if price is None:
        return None
    return (usage.prompt_tokens * price.prompt + usage.completion_tokens * price.completion) / 1e6


def plan_usage(session: Session, plan_id: str) -> PlanUsage:
    rows = list(session.exec(select(LLMCall).where(LLMCall.plan_id == plan_id)))
    if not rows:
        return PlanUsage()
    costs = [r.cost for r in rows]
    return PlanUsage(
        calls=len(rows),
        prompt_tokens=sum(r.prompt_tokens for r in rows),
        completion_tokens=sum(r.completion_tokens for r in rows),
        cost=None if any(c is None for c in costs) else round(sum(c or 0 for c in costs), 6),
        estimated=any(r.estimated for r in rows),
    )


def brief_meter(
    engine: Engine, *, plan_id: str, config: LLMConfig, action_id: str | None = None
) -> Meter:
    """A meter that stores every call of one brief and stops at the brief's guards.

    The totals are read from the database, so the guards hold across restarts and
    across app instances working on the same plan.
    """
    # Here, not at the top: reading a plan's usage should not load the client and tenacity.
    from agents.llm.client import Meter, ModelError

    last_id: list[int] = []

    def before() -> None:
        with read_session(engine) as session:
            calls, tokens = session.exec(
                select(
                    func.count(col(LLMCall.id)),
                    func.coalesce(
                        func.sum(col(LLMCall.prompt_tokens) + col(LLMCall.completion_tokens)), 0
                    ),
                ).where(LLMCall.plan_id == plan_id)
            ).one()
        if calls >= config.max_calls:
            raise ModelError(
                f"This brief has used all {config.max_calls} model calls it may make "
                "(BATON_MAX_MODEL_CALLS).",
                kind="budget",
            )
        if tokens >= config.token_budget:
            raise ModelError(
                f"This brief has used its token budget ({tokens:,} of {config.token_budget:,}, "
                "BATON_TOKEN_BUDGET).",
                kind="budget",
            )

    def record(call: CallRecord) -> None:
        row = LLMCall(
            plan_id=plan_id,
            action_id=action_id,
            agent=call.agent,
            model=call.model,
            prompt_tokens=call.usage.prompt_tokens,
            completion_tokens=call.usage.completion_tokens,
            estimated=call.usage.estimated,
            latency_ms=round(call.latency_ms, 2),
            cost=cost_of(config, call.model, call.usage),
            attempts=call.attempts,
            status=call.status,
            error=call.error,
            created_at=datetime.now(UTC),
        )
        with write_session(engine) as session:
            session.add(row)
            session.flush()
            assert row.id is not None
            last_id[:] = [row.id]

    def invalid(error: str) -> None:
        if not last_id:
            return
        with write_session(engine) as session:
            row = session.get(LLMCall, last_id[0])
            if row is not None:
                row.status, row.error = "invalid", error[:500]
                session.add(row)

    return Meter(before=before, record=record, invalid=invalid)
