"""What Baton says in its own words: the plan's narrative and the answer to "why".

With a model, the text streams token by token from the record alone (the plan's facts, or
an action's decision record); a text that cites a number the record does not contain is
followed by a correction from the record. Offline, both are composed from the record.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.engine import Engine

from agents.llm.accounting import brief_meter
from agents.llm.client import CallRecord, Meter, ModelClient, ModelError
from agents.markdown import plain
from agents.specialists.refinement import ungrounded
from agents.views import PlanView
from agents.why.explain import Explanation
from db.settings import Settings

WHY_SYSTEM = (
    "You are Baton, answering a marketer's question about one decision. Answer in two to "
    "four plain sentences from the record given, and only from it: cite no number, date or "
    "name that is not in it. If the record does not answer the question, say so."
)
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
    """Yield the plan's narrative in pieces; the model's when it can, the composed one otherwise."""
    if plan.planner != "llm" or not settings.llm_enabled:
        yield composed(plan)
        return
    async for piece in _grounded(
        settings,
        engine,
        plan_id=plan.plan_id,
        agent="narrator",
        system=SYSTEM,
        facts=facts(plan),
        sources=[facts(plan), plan.model_dump(mode="json")],
        fallback=composed(plan),
    ):
        yield piece


async def phrase_why(
    settings: Settings, engine: Engine, explanation: Explanation
) -> AsyncIterator[str]:
    """Yield the answer to a "why" question: with a model, its phrasing of the record (checked
    number by number against it) followed by the record itself; offline, the record alone."""
    record = explanation.to_markdown()
    if not settings.llm_enabled:
        yield record
        return
    given = {"question": explanation.question or "Why this action?", "record": record}
    phrased = False
    async for piece in _grounded(
        settings,
        engine,
        plan_id=explanation.action.plan_id,
        agent="explainer",
        system=WHY_SYSTEM,
        facts=given,
        sources=[given, explanation.model_dump(mode="json")],
        fallback=None,
    ):
        phrased = True
        yield piece
    yield ("\n\n---\n\n" if phrased else "") + record


async def _grounded(
    settings: Settings,
    engine: Engine,
    *,
    plan_id: str,
    agent: str,
    system: str,
    facts: dict[str, Any],
    sources: list[Any],
    fallback: str | None,
) -> AsyncIterator[str]:
    """Stream the model's text about `facts`; `fallback` (if any) when the model fails before
    its first token, and a correction when the text cites a number `sources` lack.

    Database work (the budget check, the call record) runs in a thread, off the event loop.
    """
    stored = brief_meter(engine, plan_id=plan_id, config=settings.llm)
    records: list[CallRecord] = []
    meter = Meter(record=records.append)
    # Building the client imports openai (about a second, the first time) and may load the
    # CA bundle: off the event loop, like the database work.
    client = await asyncio.to_thread(ModelClient, settings)
    shown: list[str] = []
    try:
        await asyncio.to_thread(stored.before)
        body = json.dumps(facts, ensure_ascii=False, separators=(",", ":"), default=str)
        messages = [{"role": "system", "content": system}, {"role": "user", "content": body}]
        async for piece in client.stream(agent=agent, messages=messages, meter=meter):
            shown.append(piece)
            yield plain(piece)  # the model's words, never its markup
    except ModelError as exc:
        if shown:
            yield f" … ({exc})"
        elif fallback is not None:
            yield fallback
    finally:
        await client.close()
        for record in records:
            await asyncio.to_thread(stored.record, record)
    invented = ungrounded("".join(shown), sources)
    if shown and invented:
        correction = f"; from the record: {fallback}" if fallback else ""
        yield (
            f"\n\n(That summary cited {', '.join(invented)}, which the record does not "
            f"contain{correction})"
        )
