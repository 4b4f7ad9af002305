"""The orchestrator's narrative: streamed from the model, checked against the plan."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from agents.llm.structured import StructuredAsker
from agents.service import Baton
from agents.views import PlanView
from agents.why.narrator import composed
from db.engine import read_session
from db.models import LLMCall
from tests.support.home import TODAY, WINBACK, make_settings
from tests.support.llm_script import echo_specialist, plan
from tests.support.scripted_llm import ErrorReply, ScriptedLLM, Stream, Usage


@pytest.fixture
def llm_baton(home: Path, scripted_llm: ScriptedLLM) -> Iterator[Baton]:
    StructuredAsker._learned.clear()
    settings = make_settings(home, base_url=scripted_llm.base_url, timeout=2.0, deadline=4.0)
    instance, _ = Baton.open(settings, today=TODAY)
    yield instance
    instance.engine.dispose()


def _pieces(baton: Baton, view: PlanView) -> list[str]:
    async def collect() -> list[str]:
        return [piece async for piece in baton.narrate(view)]

    return asyncio.run(collect())


def _planned(baton: Baton, server: ScriptedLLM) -> PlanView:
    server.expect(plan(WINBACK, today=TODAY), agent="planner")
    server.expect(echo_specialist(), agent="audience")
    return baton.plan_brief(WINBACK, actor="admin", today=TODAY)


def _narrator_calls(baton: Baton, plan_id: str) -> list[LLMCall]:
    with read_session(baton.engine) as session:
        rows = session.exec(
            select(LLMCall).where(LLMCall.plan_id == plan_id, LLMCall.agent == "narrator")
        )
        return list(rows)


def test_the_narrative_streams_token_by_token_and_is_accounted(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    view = _planned(llm_baton, scripted_llm)
    chunks = ["This winback plan ", "starts with the segment; ", "approve it to go on."]
    scripted_llm.expect(Stream(chunks, usage=Usage(400, 25)), agent="narrator")

    pieces = _pieces(llm_baton, view)

    assert pieces == chunks  # each piece reaches the chat as it arrives
    assert scripted_llm.requests[-1].body["stream"] is True
    [call] = _narrator_calls(llm_baton, view.plan_id)
    assert (call.status, call.prompt_tokens, call.completion_tokens) == ("ok", 400, 25)
    assert llm_baton.get_plan(view.plan_id).usage.calls == 3


def test_a_narrative_citing_a_number_the_plan_lacks_is_corrected_from_the_record(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    view = _planned(llm_baton, scripted_llm)
    scripted_llm.expect(Stream(["This plan reaches ", "97,000 customers."]), agent="narrator")

    text = "".join(_pieces(llm_baton, view))

    assert text.startswith("This plan reaches 97,000 customers.")
    assert "cited 97,000, which the record does not contain" in text
    assert text.endswith(f"from the record: {composed(view)})")


def test_a_failing_narrator_gives_the_composed_narrative_and_a_cut_stream_says_so(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    view = _planned(llm_baton, scripted_llm)
    scripted_llm.expect(ErrorReply(400, "bad request"), agent="narrator")
    assert _pieces(llm_baton, view) == [composed(view)]

    scripted_llm.expect(Stream(["This winback ", "plan has ", "seven"], truncate_after=2))
    pieces = _pieces(llm_baton, view)
    assert pieces == ["This winback ", "plan has ", " … (The model's reply was cut off.)"]
    statuses = [c.status for c in _narrator_calls(llm_baton, view.plan_id)]
    assert statuses == ["error", "error"]


def test_offline_plans_get_the_composed_narrative_without_a_model(baton: Baton) -> None:
    view = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    [text] = _pieces(baton, view)
    assert text == composed(view)
    assert text.startswith(f"This winback plan has {len(view.steps)} steps (audience, ")
    assert "Next: build the lapsed-customer segment, on the card below" in text


def _answer(baton: Baton, question: str, plan_id: str) -> tuple[str, str]:
    """The streamed answer to a why question, and the record's own markdown."""
    explanation = baton.explain(question=question, plan_id=plan_id)

    async def collect() -> str:
        return "".join([piece async for piece in baton.answer_why(explanation)])

    return asyncio.run(collect()), explanation.to_markdown()


def test_with_a_model_why_is_phrased_from_the_record_and_the_record_follows(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    view = _planned(llm_baton, scripted_llm)
    phrasing = ["It targets lapsed buyers ", "who can still be reached, as the record shows."]
    scripted_llm.expect(Stream(phrasing), agent="explainer")

    text, record = _answer(llm_baton, "why this audience?", view.plan_id)

    assert text == "".join(phrasing) + "\n\n---\n\n" + record
    sent = json.loads(scripted_llm.requests[-1].body["messages"][-1]["content"])
    assert sent == {"question": "why this audience?", "record": record}  # the record, only
    with read_session(llm_baton.engine) as session:
        agents = [c.agent for c in session.exec(select(LLMCall).order_by(col(LLMCall.id)))]
    assert agents == ["planner", "audience", "explainer"]


def test_a_phrased_why_citing_a_number_the_record_lacks_is_flagged(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    view = _planned(llm_baton, scripted_llm)
    scripted_llm.expect(Stream(["It reaches ", "12,345 people."]), agent="explainer")
    text, record = _answer(llm_baton, "why this audience?", view.plan_id)
    assert "cited 12,345, which the record does not contain" in text
    assert text.endswith(record)

    scripted_llm.expect(ErrorReply(400), agent="explainer")
    failed, record = _answer(llm_baton, "why this audience?", view.plan_id)
    assert failed == record  # the model failed: the record alone answers


def test_offline_why_is_the_record(baton: Baton) -> None:
    view = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    text, record = _answer(baton, "why this audience?", view.plan_id)
    assert text == record and record.startswith("**Why: Build the lapsed-customer segment**")
