"""`make bench`: prompt tokens of Baton's orchestrator against a one-agent baseline, and overhead.

For each playbook's brief, Baton plans and runs the whole plan against the scripted
OpenAI-compatible server (answering instantly). The baseline is one agent that sees every
tool's schema on every call and the whole conversation so far; it makes the same number of
calls, gets the same replies (so the plans are the same) and sends them to the same server.
Both are counted by the server with the same estimator (agents/llm/tokens.py).
Overhead is what the LLM path adds: the wall time of planning a brief with the model, minus
the time spent waiting on the model, minus the time the offline planner takes for the same
brief on a copy of the same workspace (tools and database work common to both).
Run with `python -m benchmarks.llm [--contacts N]`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import openai
from sqlmodel import select

from agents.llm.structured import StructuredAsker, strict_schema
from agents.llm.tokens import estimate_request_tokens
from agents.planning.llm_planner import PlanReply
from agents.service import Baton
from agents.specialists.refinement import SpecialistReply
from agents.specialists.registry import SKILLS
from db.engine import read_session
from db.models import LLMCall
from tests.support.briefs import BRIEFS
from tests.support.flow import approve_all_pending
from tests.support.home import TODAY, make_settings
from tests.support.llm_script import planner_reply, specialist
from tests.support.scripted_llm import FunctionReply, JSONReply, Reply, ScriptedLLM

BASELINE_SYSTEM = "You are a marketing agent. Use the tools to plan and carry out the brief."


def _offline_ms(home: Path, brief: str) -> float:
    baton, _ = Baton.open(make_settings(home), today=TODAY)
    started = time.perf_counter()
    baton.plan_brief(brief, actor="admin", today=TODAY)
    elapsed = (time.perf_counter() - started) * 1000
    baton.engine.dispose()
    return elapsed


def _every_tool() -> list[dict[str, Any]]:
    """What a single all-purpose agent is given: every tool's full parameter schema."""
    tools = [
        {
            "type": "function",
            "function": {
                "name": skill.kind,
                "description": f"{skill.agent}: run {skill.kind}",
                "parameters": skill.params_model.model_json_schema(),
            },
        }
        for skill in SKILLS.values()
    ]
    for model in (PlanReply, SpecialistReply):
        tools.append(
            {
                "type": "function",
                "function": {
                    "name": f"submit_{model.__name__}",
                    "parameters": strict_schema(model),
                },
            }
        )
    return tools


def _baton_run(home: Path, server: ScriptedLLM, brief: str) -> tuple[list[dict[str, Any]], float]:
    """Plan and run one brief with the LLM planner; the requests sent and the overhead (ms)."""
    server.reset()

    def answer(body: dict[str, Any]) -> Reply:
        if body["messages"][0]["content"].startswith("You are Baton's planner"):
            return JSONReply(planner_reply(brief, today=TODAY))
        return specialist("The tool's proposal fits the goal and the policy.")

    server.expect(*[FunctionReply(answer) for _ in range(30)])
    baton, _ = Baton.open(make_settings(home, base_url=server.base_url), today=TODAY)
    started = time.perf_counter()
    plan = baton.plan_brief(brief, actor="admin", today=TODAY)
    wall = (time.perf_counter() - started) * 1000
    with read_session(baton.engine) as session:
        model_ms = sum(
            c.latency_ms
            for c in session.exec(select(LLMCall).where(LLMCall.plan_id == plan.plan_id))
        )
    approve_all_pending(baton, plan.plan_id)
    baton.engine.dispose()
    bodies = [r.body for r in server.requests]
    server.reset()
    return bodies, wall - model_ms


def _baseline(server: ScriptedLLM, brief: str, baton_bodies: list[dict[str, Any]]) -> int:
    """The one-agent baseline: same calls, every tool, the whole conversation each time."""
    server.reset()
    tools = _every_tool()
    conversation: list[dict[str, Any]] = [
        {"role": "system", "content": BASELINE_SYSTEM},
        {"role": "user", "content": brief},
    ]
    client = openai.OpenAI(base_url=server.base_url, api_key="bench", max_retries=0)
    prompt_tokens = 0
    try:
        for body in baton_bodies:
            # The baseline sees what Baton's specialist saw, added to the running conversation.
            step_input = body["messages"][-1]["content"]
            if len(conversation) > 2:
                conversation.append({"role": "user", "content": step_input})
            server.expect(JSONReply({"ok": True}))
            response = client.chat.completions.create(
                model="scripted-model",
                messages=conversation,
                tools=tools,  # type: ignore[arg-type]
            )
            assert response.usage is not None
            prompt_tokens += response.usage.prompt_tokens
            conversation.append(
                {"role": "assistant", "content": response.choices[0].message.content}
            )
    finally:
        client.close()
    server.check()
    return prompt_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per brief (median)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp, ScriptedLLM() as server:
        template = Path(tmp) / "template"
        Baton.open(make_settings(template), today=TODAY, demo_contacts=args.contacts)[
            0
        ].engine.dispose()
        for n, (playbook, brief) in enumerate(sorted(BRIEFS.items())):
            # Offline and LLM runs alternate, each on a fresh copy, so caches treat them alike.
            offline_ms, beside_model_ms = [], []
            for run in range(args.runs):
                home = Path(tmp) / f"offline{n}-{run}"
                shutil.copytree(template, home)
                offline_ms.append(_offline_ms(home, brief))
                shutil.rmtree(home)
                home = Path(tmp) / f"run{n}-{run}"
                shutil.copytree(template, home)
                StructuredAsker._learned.clear()
                bodies, beside_model = _baton_run(home, server, brief)
                beside_model_ms.append(beside_model)
                shutil.rmtree(home)
            overhead = statistics.median(beside_model_ms) - statistics.median(offline_ms)
            baton_tokens = sum(estimate_request_tokens(b) for b in bodies)
            baseline_tokens = _baseline(server, brief, bodies)
            rows.append((playbook, len(bodies), baton_tokens, baseline_tokens, overhead))
    print(
        f"\nLLM orchestration on {args.contacts:,} contacts, scripted model answering instantly "
        f"(overhead: median of {args.runs} runs)\n"
    )
    print(
        "| playbook | model calls | Baton prompt tokens | one-agent baseline | ratio | overhead |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for playbook, calls, mine, theirs, overhead in rows:
        print(
            f"| {playbook} | {calls} | {mine:,} | {theirs:,} | {mine / theirs:.2f} | "
            f"{overhead:.0f} ms |"
        )
    total_mine = sum(r[2] for r in rows)
    total_theirs = sum(r[3] for r in rows)
    print(
        f"| **all briefs** | {sum(r[1] for r in rows)} | {total_mine:,} | {total_theirs:,} | "
        f"**{total_mine / total_theirs:.2f}** (target <= 0.33) | median "
        f"**{statistics.median(r[4] for r in rows):.0f} ms** (target <= 50 ms) |"
    )


if __name__ == "__main__":
    main()
