"""The `baton` command as scripts use it: a real subprocess over a real data directory."""

from __future__ import annotations

import csv
import itertools
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agents.service import Baton
from agents.specialists.registry import skill_for
from tests.support.cli import ROOT, run
from tests.support.home import TODAY, WINBACK, subprocess_env
from tests.support.llm_script import planner_reply
from tests.support.scripted_llm import JSONReply, ScriptedLLM, Usage


def test_plan_json_matches_the_contract(home: Path) -> None:
    out = run(home, "plan", "--json", "--today", TODAY.isoformat(), WINBACK)
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)  # stdout carries only the JSON
    assert {"plan_id", "version", "planner", "goal", "steps"} <= plan.keys()
    assert plan["planner"] == "offline" and plan["version"] == 1
    goal = plan["goal"]
    assert goal["budget"] == 2000.0 and goal["currency"] == "USD"
    assert goal["channels"] == ["email", "sms"] and goal["start"] == "2026-12-01"
    assert goal["playbook"] == "winback"
    steps = {s["agent"]: s for s in plan["steps"]}
    order = [s["agent"] for s in plan["steps"]]
    assert (
        order.index("audience")
        < order.index("creative")
        < order.index("compliance")
        < order.index("distribution")
    )
    assert steps["compliance"]["step_id"] in steps["distribution"]["depends_on"]
    first = steps["audience"]["action"]
    assert {
        "action_id",
        "tool",
        "params",
        "revision",
        "status",
        "requires_approval",
        "risk",
        "rationale",
        "policy_checks",
        "lessons_applied",
        "result",
    } <= first.keys()
    assert first["status"] == "proposed" and first["risk"] == "internal"
    assert steps["distribution"]["action"] is None, "not ready until its inputs are approved"


def test_the_whole_winback_through_the_cli(home: Path) -> None:
    plan = json.loads(run(home, "plan", "--json", "--today", TODAY.isoformat(), WINBACK).stdout)
    for _ in range(6):
        listed = json.loads(
            run(home, "actions", "--plan", plan["plan_id"], "--status", "proposed", "--json").stdout
        )
        if not listed:
            break
        for action in listed:
            assert {"plan_id", "step_id", "agent"} <= action.keys()
            args = ["approve", action["action_id"], "--revision", str(action["revision"])]
            if action["tool"] == "schedule_send":
                args += ["--set", "send_hour_local=9"]
            out = run(home, *args)
            assert out.returncode == 0, out.stderr
    actions = json.loads(run(home, "actions", "--plan", plan["plan_id"], "--json").stdout)
    by_tool = {a["tool"]: a for a in actions}
    assert all(a["status"] == "succeeded" for a in actions), [
        (a["tool"], a["status"], a["error"]) for a in actions
    ]
    launch = by_tool["launch_campaign"]
    assert launch["requires_approval"] is True and launch["risk"] == "external"
    assert launch["result"]["queued"] > 0
    segment = by_tool["build_segment"]["result"]
    assert set(segment["suppressed"]) == {"unsubscribed", "bounced", "no_consent", "frequency_cap"}
    schedule = by_tool["schedule_send"]
    assert schedule["params"]["send_hour_local"] == 9 and schedule["revision"] == 2
    assert 0 <= schedule["params"]["send_weekday"] <= 6
    assert set(by_tool["allocate_budget"]["params"]["allocations"]) == {"email", "sms"}
    why = run(home, "why", schedule["action_id"], "--json")
    record = json.loads(why.stdout)
    assert record["action"]["decisions"][0]["verdict"] == "edit"
    text = run(home, "why", schedule["action_id"]).stdout
    assert "send_hour_local" in text and "→ 9" in text


def test_errors_are_one_sentence_on_stderr_with_a_nonzero_exit(home: Path) -> None:
    out = run(home, "approve", "act_nope", "--revision", "1")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip() == "baton: There is no action act_nope."
    plan = json.loads(run(home, "plan", "--json", "--today", TODAY.isoformat(), WINBACK).stdout)
    segment = next(s["action"] for s in plan["steps"] if s["agent"] == "audience")
    stale = run(home, "approve", segment["action_id"], "--revision", "7")
    assert stale.returncode == 2 and "stale" in stale.stderr
    bad_set = run(home, "approve", segment["action_id"], "--revision", "1", "--set", "oops")
    assert bad_set.returncode == 2 and "key=value" in bad_set.stderr
    empty = run(home, "plan", "   ")
    assert empty.returncode == 2 and "empty" in empty.stderr


def test_users_add_prints_a_generated_password_or_takes_one_from_stdin(home: Path) -> None:
    out = run(home, "users", "add", "mia", "--role", "marketer")
    assert out.returncode == 0, out.stderr
    assert "password: " in out.stdout
    piped = run(
        home,
        "users",
        "add",
        "ann",
        "--role",
        "approver",
        "--password-stdin",
        stdin="correct horse battery\n",
    )
    assert piped.returncode == 0 and "password" not in piped.stdout
    weak = run(home, "users", "add", "bob", "--role", "viewer", "--password-stdin", stdin="x\n")
    assert weak.returncode == 2 and "8 characters" in weak.stderr


def test_reject_keeps_the_reason(home: Path) -> None:
    plan = json.loads(run(home, "plan", "--json", "--today", TODAY.isoformat(), WINBACK).stdout)
    segment = next(s["action"] for s in plan["steps"] if s["agent"] == "audience")
    out = run(home, "reject", segment["action_id"], "--reason", "too broad", "--json")
    assert out.returncode == 0, out.stderr
    decided = json.loads(out.stdout)["action"]
    assert decided["status"] == "rejected"
    assert decided["decisions"][-1]["reason"] == "too broad"


def test_plan_json_with_a_model_has_the_same_contract_plus_usage(
    home: Path, scripted_llm: ScriptedLLM
) -> None:
    offline = json.loads(run(home, "plan", "--json", "--today", TODAY.isoformat(), WINBACK).stdout)
    assert offline["usage"] == {
        "calls": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cost": 0.0,
        "estimated": False,
    }
    planner = planner_reply(WINBACK, today=TODAY)
    reason = {"rationale": "A lapsed segment, as the brief asks.", "changes": []}
    scripted_llm.expect(JSONReply(planner, usage=Usage(1200, 300)), agent="planner")
    scripted_llm.expect(JSONReply(reason, usage=Usage(800, 40)), agent="audience")
    model_env = {
        "OPENAI_BASE_URL": scripted_llm.base_url,
        "BATON_MODEL": "scripted-model",
        "BATON_LLM_PRICES": "scripted-model=1/2",
    }
    out = run(home, "plan", "--json", "--today", TODAY.isoformat(), WINBACK, **model_env)
    assert out.returncode == 0, out.stderr
    planned = json.loads(out.stdout)
    assert planned["planner"] == "llm" and planned.keys() == offline.keys()
    assert planned["goal"] == offline["goal"]
    assert [s["agent"] for s in planned["steps"]] == [s["agent"] for s in offline["steps"]]
    segment = planned["steps"][0]["action"]
    assert segment["rationale"] == "A lapsed segment, as the brief asks."
    assert segment.keys() == offline["steps"][0]["action"].keys()
    usage = planned["usage"]
    assert usage["calls"] == 2 and usage["estimated"] is False
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (2000, 340)
    assert usage["cost"] == pytest.approx((2000 * 1 + 340 * 2) / 1e6)
    assert out.stderr == ""  # no notices: the model planned it


def test_why_not_compares_an_alternative_and_changes_nothing(home: Path) -> None:
    plan = json.loads(run(home, "plan", "--json", "--today", TODAY.isoformat(), WINBACK).stdout)
    segment = next(s["action"] for s in plan["steps"] if s["agent"] == "audience")
    assert run(home, "approve", segment["action_id"], "--revision", "1").returncode == 0
    listed = json.loads(run(home, "actions", "--plan", plan["plan_id"], "--json").stdout)
    schedule = next(a for a in listed if a["tool"] == "schedule_send")
    out = run(home, "why", schedule["action_id"], "--not", "Sunday", "--json")
    assert out.returncode == 0, out.stderr
    comparison = json.loads(out.stdout)
    assert comparison["action_id"] == schedule["action_id"]
    assert comparison["changes"] == {"send_weekday": 6}
    assert comparison["alternative_policy"]["passed"] is True
    rate = next(r for r in comparison["rows"] if r["key"] == "chosen_slot_open_rate")
    assert rate["chosen"] == schedule["evidence"]["expected_open_rate"]
    text = run(home, "why", schedule["action_id"], "--not", "11pm").stdout
    assert "| --- | --- | --- |" in text and "breaks quiet_hours" in text
    odd = run(home, "why", schedule["action_id"], "--not", "purple")
    assert odd.returncode == 0 and "Baton can compare" in odd.stdout
    after = json.loads(run(home, "actions", "--plan", plan["plan_id"], "--json").stdout)
    assert after == listed, "a why-not changes nothing"
    missing = run(home, "why", "act_nope", "--not", "Sunday")
    assert missing.returncode == 2 and "There is no action act_nope." in missing.stderr


@pytest.mark.slow
def test_a_fresh_data_directory_prints_the_admin_login_once(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    first = run(home, "actions", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == []
    assert "password:" in first.stderr and "admin" in first.stderr
    assert "demo workspace" in first.stderr
    second = run(home, "actions", "--json")
    assert "password" not in second.stderr
    policy = (home / "policy.toml").read_text()
    assert "autonomy = 1" in policy and "banned_phrases" in policy
    assert oct((home / "auth_secret").stat().st_mode & 0o777) == "0o600"


def test_the_kill_switch_from_the_command_line(home: Path) -> None:
    assert "off" in run(home, "kill-switch", "status").stdout
    on = run(home, "kill-switch", "on")
    assert on.returncode == 0 and "engaged" in on.stdout.lower()
    plan = json.loads(run(home, "plan", "--json", "--today", TODAY.isoformat(), WINBACK).stdout)
    segment = next(s["action"] for s in plan["steps"] if s["agent"] == "audience")
    refused = run(home, "approve", segment["action_id"], "--revision", "1")
    assert refused.returncode == 2 and "kill switch" in refused.stderr
    run(home, "users", "add", "mia", "--role", "marketer")
    assert run(home, "kill-switch", "off", "--as", "mia").returncode == 2
    assert run(home, "kill-switch", "off").returncode == 0
    assert run(home, "approve", segment["action_id"], "--revision", "1").returncode == 0


def test_a_broken_policy_file_is_named_in_one_sentence(home: Path) -> None:
    (home / "policy.toml").write_text("autonomy = 7\n")
    out = run(home, "plan", "--today", TODAY.isoformat(), WINBACK)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "baton: policy.toml has a bad value at autonomy: Input should be less than or equal to 3."
    ]
    (home / "policy.toml").write_text("autonomy = [\n")
    out = run(home, "actions")
    assert out.returncode == 2 and "not valid TOML" in out.stderr


def test_audit_export_and_verify_find_a_tampered_row(home: Path, tmp_path: Path) -> None:
    plan = json.loads(run(home, "plan", "--json", "--today", TODAY.isoformat(), WINBACK).stdout)
    segment = next(s["action"] for s in plan["steps"] if s["agent"] == "audience")
    assert run(home, "approve", segment["action_id"], "--revision", "1").returncode == 0
    ok = run(home, "audit", "verify")
    assert ok.returncode == 0 and ok.stdout.startswith("The audit chain verifies:")
    lines = run(home, "audit", "export").stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(events))
    out = tmp_path / "audit.csv"
    assert run(home, "audit", "export", "--format", "csv", "--output", str(out)).returncode == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == len(events) and rows[0]["hash"] == events[0]["hash"]
    approved = next(e for e in events if e["kind"] == "action.approved")
    with sqlite3.connect(home / "baton.db") as conn:
        conn.execute("UPDATE auditevent SET actor = 'mallory' WHERE id = ?", (approved["id"],))
    broken = run(home, "audit", "verify")
    assert broken.returncode == 1
    assert f"broken at event {approved['id']} (action.approved by mallory" in broken.stderr
    run(home, "users", "add", "mia", "--role", "marketer")
    assert run(home, "audit", "export", "--as", "mia").returncode == 2


def test_feedback_search_finds_comments_by_relevance(baton: Baton, home: Path) -> None:
    for value, comment in (
        (-1, "SMS is too expensive for this audience"),
        (1, "great timing, opens were up"),
        (-1, "sms costs too much; keep it to email"),
    ):
        baton.record_feedback(actor="admin", value=value, comment=comment, message_id=comment)

    out = run(home, "feedback", "search", "expensive sms", "--json")

    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout)
    assert hits[0]["comment"] == "SMS is too expensive for this audience"
    assert {h["comment"] for h in hits} == {
        "SMS is too expensive for this audience",
        "sms costs too much; keep it to email",
    }
    assert "**expensive**" in hits[0]["excerpt"] and hits[0]["value"] == -1
    text = run(home, "feedback", "search", "timing").stdout
    assert "+1  admin" in text and "great timing, opens were up" in text
    assert "No feedback mentions 'purple'." in run(home, "feedback", "search", "purple").stdout
    bad = run(home, "feedback", "search", "sms", "--limit", "0")
    assert bad.returncode == 2 and "--limit takes a whole number from 1 to 100" in bad.stderr


def _actions_then(home: Path, expression: str) -> list[str]:
    """The lines `baton actions --json` prints in a process, then `expression` evaluated in it
    (`sys` imported): what the listing loaded."""
    probe = (
        f"import sys\nfrom app.cli import main\nmain(['actions', '--json'])\nprint({expression})\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=subprocess_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()


def test_actions_lists_what_each_action_lets_a_person_edit(baton: Baton, home: Path) -> None:
    baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    offered = list(skill_for("build_segment").editable)
    *listing, loaded = _actions_then(
        home, "sorted(m for m in sys.modules if m.startswith('agents.specialists'))"
    )
    [segment] = json.loads("\n".join(listing))
    assert segment["editable"] == offered
    assert loaded == "[]", "the listing reads what was editable from the action itself"

    # A database from before actions stored it: the migration adds the column, and the
    # kind's Skill answers for the older rows.
    with sqlite3.connect(home / "baton.db") as conn:
        conn.execute("ALTER TABLE action DROP COLUMN editable")
        conn.execute("DELETE FROM meta WHERE key = 'migration:0008_action_editable'")
    [older] = json.loads(run(home, "actions", "--json").stdout)
    assert older["editable"] == offered


def test_actions_builds_only_the_ledgers_tables_and_an_upgrade_still_makes_every_table(
    baton: Baton, home: Path
) -> None:
    baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    apart = ("db.workspace_models", "db.execution_models", "db.memory_models")
    assert _actions_then(home, f"sorted(m for m in {apart!r} if m in sys.modules)")[-1] == "[]"

    # A data directory from before a migration: the command that finds it pending builds
    # every table's model, so the migration creates the tables this command never reads.
    with sqlite3.connect(home / "baton.db") as conn:
        conn.execute("DROP TABLE autonomygrant")
        conn.execute("DELETE FROM meta WHERE key = 'migration:0007_earned_autonomy'")
    assert run(home, "actions", "--json").returncode == 0
    with sqlite3.connect(home / "baton.db") as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "autonomygrant" in tables
