"""The orchestrator's narrative: a few sentences telling the marketer what the plan does.

With a model, the narrative streams token by token from the plan's own facts; a narrative
that cites a number the plan does not contain is replaced by the composed one. Offline,
the narrative is composed from the plan.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.engine import Engine

from agents.llm.accounting import brief_meter
from agents.llm.client import CallRecord, Meter, ModelClient, ModelError
from agents.llm_specialist import ungrounded
from agents.views import PlanView
from db.settings import Settings

SYSTEM = (
    "You are Baton's orchestrator, talking to a marketer. In two to four short sentences, "
    "say what the plan will do and what needs their decision now. Use only the facts given; "
    "cite no number that is not in them. Plain text, no lists."
)


def facts(plan: PlanView) -> dict[str, Any]:
    """What the narrator may say: the goal, the steps and their states, the open proposals."""
    goal = {k: v for k, v in plan.goal.items() if v not in (None, [], "")}
    steps = [
        {
            "agent": s.agent,
            "title": s.title,
            "status": s.action.status if s.action else "waiting",
            **(
                {"rationale": s.action.rationale[:300]}
                if s.action and s.action.status == "proposed"
                else {}
            ),
        }
        for s in plan.steps
    ]
    return {"goal": goal, "steps": steps}


def composed(plan: PlanView) -> str:
    """The offline narrative, built from the plan alone."""
    pending = [s for s in plan.steps if s.action and s.action.status == "proposed"]
    done = [s for s in plan.steps if s.action and s.action.status == "succeeded"]
    agents = ", ".join(dict.fromkeys(s.agent for s in plan.steps))
    playbook = str(plan.goal["playbook"]).replace("_", " ")
    text = f"This {playbook} plan has {len(plan.steps)} steps ({agents})."
    if done:
        text += f" {len(done)} ran by policy."
    if pending:
        first = pending[0]
        text += f" Next: {first.title.lower()}, on the card below for your decision."
    return text


async def stream(settings: Settings, engine: Engine, plan: PlanView) -> AsyncIterator[str]:
    """Yield the narrative in pieces; the model's when it can, the composed one otherwise.

    Database work (the budget check, the call record) runs in a thread, off the event loop.
    """
    if plan.planner != "llm" or not settings.llm_enabled:
        yield composed(plan)
        return
    stored = brief_meter(engine, plan_id=plan.plan_id, config=settings.llm)
    records: list[CallRecord] = []
    meter = Meter(record=records.append)
    client = ModelClient(settings)
    shown: list[str] = []
    try:
        await asyncio.to_thread(stored.before)
        body = json.dumps(facts(plan), ensure_ascii=False, separators=(",", ":"))
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": body}]
        async for piece in client.stream(agent="narrator", messages=messages, meter=meter):
            shown.append(piece)
            yield piece
    except ModelError as exc:
        if not shown:
            yield composed(plan)
        else:
            yield f" … ({exc})"
    finally:
        await client.close()
        for record in records:
            await asyncio.to_thread(stored.record, record)
    invented = ungrounded("".join(shown), [facts(plan), plan.model_dump(mode="json")])
    if shown and invented:
        yield (
            f"\n\n(That summary cited {', '.join(invented)}, which the plan does not contain; "
            f"from the record: {composed(plan)})"
        )
