"""The LLM planner and specialists through the real openai client and a scripted server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from agents.llm.structured import StructuredAsker
from agents.service import Baton
from db.engine import read_session
from db.models import Action, LLMCall, Plan
from tests.support.flow import action_for, approve
from tests.support.home import TODAY, WINBACK, make_settings
from tests.support.llm_script import context_of, echo_specialist, plan, planner_reply, specialist
from tests.support.scripted_llm import (
    Delay,
    ErrorReply,
    JSONReply,
    Malformed,
    ScriptedLLM,
    Usage,
    burst,
)


@pytest.fixture
def llm_baton(
    home: Path, scripted_llm: ScriptedLLM, request: pytest.FixtureRequest
) -> Iterator[Baton]:
    """A Baton whose model is the scripted server (settings overridable with a marker)."""
    marker = request.node.get_closest_marker("llm")
    overrides: dict[str, Any] = dict(marker.kwargs) if marker else {}
    overrides.setdefault("timeout", 2.0)
    overrides.setdefault("deadline", 6.0)
    StructuredAsker._learned.clear()  # each test starts with an endpoint Baton has not met
    settings = make_settings(home, base_url=scripted_llm.base_url, **overrides)
    instance, _ = Baton.open(settings, today=TODAY)
    yield instance
    instance.engine.dispose()


def _calls(baton: Baton, plan_id: str) -> list[LLMCall]:
    with read_session(baton.engine) as session:
        return list(session.exec(select(LLMCall).where(LLMCall.plan_id == plan_id)))


def _plans(baton: Baton) -> list[Plan]:
    with read_session(baton.engine) as session:
        return list(session.exec(select(Plan)))


def test_the_model_plans_the_brief_and_the_specialist_writes_the_rationale(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.expect(plan(WINBACK, today=TODAY), agent="planner")
    scripted_llm.expect(echo_specialist(), agent="audience")

    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)

    assert view.planner == "llm" and view.notices == []
    assert view.goal["budget"] == 2000 and view.goal["channels"] == ["email", "sms"]
    assert [s.agent for s in view.steps][:2] == ["audience", "creative"]
    segment = view.steps[0].action
    assert segment is not None and segment.status == "proposed"
    assert segment.rationale.startswith("The evidence gives ")
    assert view.usage.calls == 2 and view.usage.prompt_tokens > 0
    calls = _calls(llm_baton, view.plan_id)
    assert [c.agent for c in calls] == ["planner", "audience"]
    assert all(c.status == "ok" and c.attempts == 1 for c in calls)
    # The planner never sees tool schemas or data; the specialist sees only its own step.
    planner_body, specialist_body = (r.body for r in scripted_llm.requests)
    assert "tools" not in planner_body
    assert planner_body["response_format"]["type"] == "json_schema"
    sent = context_of(specialist_body)
    assert sent["step"]["tool"] == "build_segment"
    assert set(sent) <= {
        "goal",
        "step",
        "proposal",
        "evidence",
        "editable",
        "alternatives",
        "lessons",
    }
    assert [t["function"]["name"] for t in specialist_body["tools"]] == ["what_if"]


def test_a_plan_naming_an_unknown_tool_gets_one_repair_with_the_error(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    bad = planner_reply(WINBACK, today=TODAY)
    bad["steps"][0]["tool"] = "audience.buy_list"
    scripted_llm.expect(JSONReply(bad), plan(WINBACK, today=TODAY), agent="planner")
    scripted_llm.expect(echo_specialist(), agent="audience")

    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)

    assert view.planner == "llm" and view.notices == []
    repair = scripted_llm.requests[1].body["messages"]
    assert repair[-1]["role"] == "user" and "steps.0.tool" in repair[-1]["content"]
    assert [c.status for c in _calls(llm_baton, view.plan_id)] == ["invalid", "ok", "ok"]


def test_a_launch_without_compliance_is_refused_and_repaired(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    bad = planner_reply(WINBACK, today=TODAY)
    bad["steps"] = [s for s in bad["steps"] if s["tool"] != "compliance.check_campaign"]
    for step in bad["steps"]:
        step["depends_on"] = [d for d in step["depends_on"] if d != "compliance"]
    scripted_llm.expect(JSONReply(bad), plan(WINBACK, today=TODAY), agent="planner")
    scripted_llm.expect(echo_specialist(), agent="audience")

    llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)

    assert "compliance.check_campaign" in scripted_llm.requests[1].body["messages"][-1]["content"]


def test_a_send_starting_in_the_past_is_repaired_but_a_report_may_look_back(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.expect(
        plan(WINBACK, today=TODAY, start="2026-10-01"), plan(WINBACK, today=TODAY), agent="planner"
    )
    scripted_llm.expect(echo_specialist(), agent="audience")
    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    repair = scripted_llm.requests[1].body["messages"][-1]["content"]
    assert "goal.start 2026-10-01 is in the past" in repair and "the plan sends" in repair
    assert view.goal["start"] == "2026-12-01"

    report = "How did our channels perform last month? Give me a KPI report."
    scripted_llm.expect(plan(report, today=TODAY), agent="planner")
    scripted_llm.expect(specialist(), agent="performance")
    scripted_llm.expect(specialist(), agent="research")
    looked_back = llm_baton.plan_brief(report, actor="admin", today=TODAY)
    assert looked_back.planner == "llm" and looked_back.goal["start"] == "2026-10-01"


def test_garbage_twice_falls_back_to_the_offline_planner_and_says_so(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.expect(JSONReply({"plan": "sure!"}), JSONReply([1, 2]), agent="planner")

    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)

    assert view.planner == "offline"
    assert len(view.notices) == 1
    assert view.notices[0].startswith("The LLM planner failed: The model's reply did not fit")
    assert view.notices[0].endswith("Baton planned this brief offline instead.")
    assert len(_plans(llm_baton)) == 1  # one plan, the offline one: nothing half-written
    assert view.usage.calls == 2  # the failed planning calls are still accounted for
    assert view.steps[0].action is not None  # offline plans use no specialist model


def test_rate_limits_are_retried_after_the_time_the_server_asks(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.expect(
        ErrorReply(429, "slow down", headers={"Retry-After": "1"}),
        plan(WINBACK, today=TODAY),
        agent="planner",
    )
    scripted_llm.expect(echo_specialist(), agent="audience")

    started = time.perf_counter()
    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)

    assert time.perf_counter() - started >= 1.0
    assert view.planner == "llm"
    assert _calls(llm_baton, view.plan_id)[0].attempts == 2


# The backoff's jittered waits before attempts 2-4 add up to at most 0.5 + 1 + 2 = 3.5 s: a
# 5 s deadline always leaves room for three 500s, whatever the jitter draws.
@pytest.mark.llm(deadline=5.0)
def test_a_burst_of_server_errors_ends_in_the_offline_plan_within_the_deadline(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.expect(*burst(3, 500), plan(WINBACK, today=TODAY), agent="planner")
    scripted_llm.expect(echo_specialist(), agent="audience")
    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    assert view.planner == "llm"  # three 500s are survivable

    scripted_llm.reset()
    scripted_llm.expect(*burst(40, 503))
    started = time.perf_counter()
    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    elapsed = time.perf_counter() - started
    scripted_llm.reset()  # how many of the 40 were used depends on the backoff's jitter

    assert view.planner == "offline"
    assert "kept failing (503)" in view.notices[0]
    assert elapsed < 5.0 + 3.0  # the deadline, one last request and the offline plan


def test_insufficient_quota_is_not_retried(llm_baton: Baton, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.expect(
        ErrorReply(429, "You exceeded your current quota", code="insufficient_quota"),
        agent="planner",
    )

    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)

    assert len(scripted_llm.requests) == 1
    assert view.planner == "offline" and "insufficient_quota" in view.notices[0]


def test_other_client_errors_are_not_retried(llm_baton: Baton, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.expect(
        ErrorReply(401, "Incorrect API key provided: sk-abc123456789"), agent="planner"
    )

    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)

    assert len(scripted_llm.requests) == 1
    assert "refused the API key (401)" in view.notices[0]
    assert "sk-abc" not in json.dumps(view.model_dump())


@pytest.mark.llm(timeout=0.8, deadline=6.0)
def test_a_timeout_is_retried(llm_baton: Baton, scripted_llm: ScriptedLLM) -> None:
    # The retry must answer within the timeout on a loaded machine too: 0.8 s, not 0.3.
    scripted_llm.expect(
        Delay(2.0, plan(WINBACK, today=TODAY)), plan(WINBACK, today=TODAY), agent="planner"
    )
    scripted_llm.expect(echo_specialist(), agent="audience")

    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)

    assert view.planner == "llm"
    assert _calls(llm_baton, view.plan_id)[0].attempts == 2


def test_a_malformed_body_falls_back_with_a_clear_notice(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.expect(Malformed("{not json"), agent="planner")

    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)

    assert view.planner == "offline" and "not valid JSON" in view.notices[0]


def test_an_endpoint_without_json_schema_gets_a_forced_tool_call(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    from tests.support.scripted_llm import ToolCall

    scripted_llm.expect(
        ErrorReply(400, "response_format json_schema is not supported"),
        ToolCall("submit_planreply", planner_reply(WINBACK, today=TODAY)),
        agent="planner",
    )
    scripted_llm.expect(
        ToolCall("submit_specialistreply", {"rationale": "Fits the goal.", "changes": []}),
        agent="audience",
    )

    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)

    assert view.planner == "llm"
    second = scripted_llm.requests[1].body
    assert "response_format" not in second
    assert second["tool_choice"] == {"type": "function", "function": {"name": "submit_planreply"}}
    # The mode is remembered for the rest of the brief: the specialist asks the same way.
    assert scripted_llm.requests[2].body["tool_choice"] == "required"


def test_an_invented_number_in_a_rationale_is_sent_back_once(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.expect(plan(WINBACK, today=TODAY), agent="planner")
    scripted_llm.expect(
        specialist("This segment will lift revenue by 37.5%."),
        specialist("The segment matches the lapsed customers the brief names."),
        agent="audience",
    )

    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)

    segment = view.steps[0].action
    assert segment is not None
    assert segment.rationale == "The segment matches the lapsed customers the brief names."
    assert "37.5%" in scripted_llm.requests[2].body["messages"][-1]["content"]


def test_a_specialist_that_fails_twice_leaves_the_tools_proposal_and_says_why(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.expect(plan(WINBACK, today=TODAY), agent="planner")
    scripted_llm.expect(specialist("Lift 99%."), specialist("Lift 98%."), agent="audience")

    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)

    with read_session(llm_baton.engine) as session:
        segment = session.exec(select(Action).where(Action.plan_id == view.plan_id)).one()
    assert "did not fit the expected shape twice" in segment.record["model_error"]
    assert "99%" not in segment.rationale and segment.status == "proposed"


def test_model_copy_is_used_and_a_policy_breaking_edit_is_refused(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.expect(plan(WINBACK, today=TODAY), agent="planner")
    scripted_llm.expect(echo_specialist(), agent="audience")
    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    segment = action_for(llm_baton, view.plan_id, "build_segment")

    subject = "We saved your favourites for you"
    scripted_llm.expect(
        specialist("Warm and short.", {"subject": "Guaranteed results or your money back"}),
        specialist("Warm and short, in the brand voice.", {"subject": subject}),
        agent="creative",
    )
    scripted_llm.expect(echo_specialist(), agent="channel")
    scripted_llm.expect(echo_specialist(), agent="performance")
    approve(llm_baton, segment)

    copy = action_for(llm_baton, view.plan_id, "draft_copy")
    assert copy.params["subject"] == subject
    assert "break policy" in scripted_llm.requests[3].body["messages"][-1]["content"]
    assert all(c.passed for c in copy.policy_checks)


@pytest.mark.llm(max_calls=2)
def test_the_call_budget_stops_model_use_and_the_plan_goes_on(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.expect(plan(WINBACK, today=TODAY), agent="planner")
    scripted_llm.expect(echo_specialist(), agent="audience")
    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)

    approve(llm_baton, action_for(llm_baton, view.plan_id, "build_segment"))

    copy = action_for(llm_baton, view.plan_id, "draft_copy")
    assert copy.status == "proposed"
    with read_session(llm_baton.engine) as session:
        row = session.get(Action, copy.action_id)
        assert row is not None
        assert "BATON_MAX_MODEL_CALLS" in row.record["model_error"]
    assert llm_baton.get_plan(view.plan_id).usage.calls == 2


@pytest.mark.llm(token_budget=1000)
def test_the_token_budget_stops_model_use_and_the_plan_goes_on(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.expect(
        JSONReply(planner_reply(WINBACK, today=TODAY), usage=Usage(900, 150)), agent="planner"
    )

    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)

    assert view.planner == "llm"  # the plan was made; only later model use is stopped
    segment = action_for(llm_baton, view.plan_id, "build_segment")
    assert segment.status == "proposed" and segment.rationale  # the tool's own rationale
    with read_session(llm_baton.engine) as session:
        row = session.get(Action, segment.action_id)
        assert row is not None
        assert "BATON_TOKEN_BUDGET" in row.record["model_error"]
        assert "1,050 of 1,000" in row.record["model_error"]
    assert llm_baton.get_plan(view.plan_id).usage.calls == 1


def test_markup_in_the_models_titles_is_dropped_and_its_rationale_shows_as_text(
    llm_baton: Baton, scripted_llm: ScriptedLLM
) -> None:
    steered = planner_reply(WINBACK, today=TODAY)
    steered["goal"]["objective"] = "Win back ![x](http://localhost/p) <b>lapsed</b> buyers"
    steered["steps"][0]["title"] = "[Build](http://localhost/s) the segment"
    scripted_llm.expect(JSONReply(steered), agent="planner")
    scripted_llm.expect(specialist("See ![x](http://localhost/r) for more."), agent="audience")

    view = llm_baton.plan_brief(WINBACK, actor="admin", today=TODAY)

    assert view.goal["objective"] == "Win back !x(http://localhost/p) blapsed/b buyers"
    assert view.steps[0].title == "Build(http://localhost/s) the segment"
    segment = view.steps[0].action
    assert segment is not None and segment.rationale == "See ![x](http://localhost/r) for more."
    answer = llm_baton.explain(action_id=segment.action_id).to_markdown()
    assert "See \\!\\[x\\](http://localhost/r) for more." in answer
