"""Every playbook with both planners: the same plan, the same JSON contract, the same results.

The scripted model plans each brief as the offline planner would and its specialists keep
the tools' proposals, so any difference between the two runs is Baton's, not the model's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.llm.structured import StructuredAsker
from agents.service import Baton
from agents.views import PlanView
from tests.support.briefs import BRIEFS
from tests.support.flow import approve_all_pending
from tests.support.home import TODAY, make_settings
from tests.support.llm_script import planner_reply, specialist
from tests.support.scripted_llm import FunctionReply, JSONReply, Reply, ScriptedLLM

PLANNER_PROMPT = "You are Baton's planner"


def _shape(value: Any) -> Any:
    """The keys of a JSON value all the way down (list items merged): its contract."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        merged: dict[str, Any] = {}
        for item in value:
            shape = _shape(item)
            if isinstance(shape, dict):
                merged.update(shape)
        return [merged] if merged else []
    return None


def _steps(plan: PlanView) -> list[tuple[str, str, list[int], str | None]]:
    """Agent, title, dependencies by position, and the first proposal's tool and params."""
    at = {s.step_id: n for n, s in enumerate(plan.steps)}
    return [
        (
            s.agent,
            s.title,
            [at[d] for d in s.depends_on],
            s.action and f"{s.action.tool} {s.action.status} {s.action.params}",
        )
        for s in plan.steps
    ]


def _outcomes(baton: Baton, plan_id: str) -> list[tuple[str, str, dict[str, Any], list[str]]]:
    """Per action: tool, status, params (ids of other actions named by their tool) and the
    result's fields (values such as timestamps differ between runs)."""
    actions = baton.list_actions(plan_id=plan_id)
    tools = {a.action_id: a.tool for a in actions}
    return sorted(
        (
            a.tool,
            a.status,
            {k: tools.get(v, v) if isinstance(v, str) else v for k, v in a.params.items()},
            sorted(a.result or {}),
        )
        for a in actions
    )


@pytest.fixture
def both(home: Path, scripted_llm: ScriptedLLM) -> Iterator[tuple[Baton, Baton]]:
    """An offline Baton and an LLM Baton over the same workspace file."""
    StructuredAsker._learned.clear()
    offline, _ = Baton.open(make_settings(home), today=TODAY)
    llm = Baton(make_settings(home, base_url=scripted_llm.base_url), offline.engine)
    yield offline, llm
    offline.engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("playbook", sorted(BRIEFS))
def test_both_planners_give_the_same_plan_contract_and_results(
    playbook: str, both: tuple[Baton, Baton], scripted_llm: ScriptedLLM
) -> None:
    offline, llm = both
    brief = BRIEFS[playbook]
    by_code = offline.plan_brief(brief, actor="admin", today=TODAY)
    planned_offline = by_code.model_dump(mode="json")
    approve_all_pending(offline, by_code.plan_id)
    actions = len(offline.list_actions(plan_id=by_code.plan_id))

    served: list[str] = []

    def answer(body: dict[str, Any]) -> Reply:
        if body["messages"][0]["content"].startswith(PLANNER_PROMPT):
            served.append("planner")
            return JSONReply(planner_reply(brief, today=TODAY))
        served.append(body["messages"][0]["content"].split()[3])  # "You are Baton's X ..."
        return specialist("The tool's proposal fits the goal and the policy.")

    # The planner, then one specialist call per action: the server fails the test on any
    # request beyond these, and on any of these left unused.
    scripted_llm.expect(*[FunctionReply(answer) for _ in range(1 + actions)])
    by_model = llm.plan_brief(brief, actor="admin", today=TODAY)

    assert by_model.planner == "llm" and by_code.planner == "offline"
    assert by_model.notices == [] and by_code.usage.calls == 0
    assert by_model.goal == by_code.goal
    assert _steps(by_model) == _steps(by_code)
    assert _shape(by_model.model_dump(mode="json")) == _shape(planned_offline)

    approve_all_pending(llm, by_model.plan_id)
    assert _outcomes(llm, by_model.plan_id) == _outcomes(offline, by_code.plan_id)
    agents = sorted(a.agent for a in llm.list_actions(plan_id=by_model.plan_id))
    assert served[0] == "planner" and sorted(served[1:]) == agents
    usage = llm.get_plan(by_model.plan_id).usage
    assert usage.calls == 1 + actions and usage.prompt_tokens > 0
