"""Commands on plans and their actions: plan, actions, approve, reject, why."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from app.cli.console import open_baton, print_json
from app.cli.errors import CliError

if TYPE_CHECKING:
    from agents.decision import DecisionRequest


def _parse_value(raw: str) -> Any:
    """`--set` values: JSON when they parse as JSON (numbers, lists), else the plain string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _parse_sets(items: Sequence[str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--set needs key=value, got {item!r}.")
        changes[key.strip()] = _parse_value(value.strip())
    return changes


def _action_line(a: dict[str, Any]) -> str:
    flag = "needs approval" if a["status"] == "proposed" and a["requires_approval"] else ""
    return (
        f"{a['action_id']}  r{a['revision']}  {a['status']:<10} {a['agent']:<12} "
        f"{a['title']}  {flag}"
    ).rstrip()


def cmd_plan(args: argparse.Namespace) -> None:
    """`baton plan BRIEF`: plan a brief and propose the first actions."""
    today = date.fromisoformat(args.today) if args.today else None
    baton = open_baton(today)
    plan = baton.plan_brief(args.brief, actor=args.as_user, today=today)
    for notice in plan.notices:
        print(notice, file=sys.stderr)
    if args.json:
        print_json(plan.model_dump(mode="json"))
        return
    g = plan.goal
    print(f"Plan {plan.plan_id} ({plan.planner} planner): {g['objective']}")
    if plan.usage.calls:
        print(f"  {plan.usage.summary()}")
    budget = f"{g['currency']} {g['budget']:,.2f}" if g.get("budget") else "none"
    print(
        f"  playbook {g['playbook']}, budget {budget}, channels "
        f"{', '.join(g['channels']) or 'none'}, start {g.get('start') or '-'}"
    )
    for n, step in enumerate(plan.steps, 1):
        a = step.action
        state = f"{a.status} ({a.action_id} r{a.revision})" if a else "waiting"
        print(f"  {n}. [{step.agent}] {step.title}: {state}")
        if a and a.status == "proposed":
            print(f"       {a.rationale}")


def cmd_actions(args: argparse.Namespace) -> None:
    """`baton actions`: list actions, one line each or as JSON."""
    baton = open_baton()
    actions = baton.list_actions(plan_id=args.plan, status=args.status)
    if args.json:
        print_json([a.model_dump(mode="json") for a in actions])
        return
    if not actions:
        print("No actions.")
    for a in actions:
        print(_action_line(a.model_dump()))


def _decide(args: argparse.Namespace, request: DecisionRequest) -> None:
    baton = open_baton()
    outcome = baton.decide(request, actor=args.as_user)
    if getattr(args, "json", False):
        print_json(outcome.model_dump(mode="json"))
        return
    a = outcome.action
    print(f"{a.action_id} is now {a.status} (revision {a.revision}).")
    if a.error:
        print(f"  {a.error}")
    for revision in outcome.revisions:
        print(f"Plan revised to version {revision.version}: {revision.reason}")
        for change in revision.diff:
            print(f"  {change['change']} {change['key']}: {change['detail']}")
    for question in outcome.questions:
        print(f"Question: {question}")
    for new in outcome.new_actions:
        print("  next: " + _action_line(new.model_dump()))
    if outcome.lesson:
        print(f"Learned: {outcome.lesson}.")
    if outcome.autonomy_note:
        print(outcome.autonomy_note)
    offer = outcome.autonomy_suggestion
    if offer:
        who = "" if offer.can_confirm else f" (someone with the {offer.confirm_role} role)"
        print(f"{offer.text} Confirm with `baton autonomy raise {offer.kind}`{who}.")


def cmd_approve(args: argparse.Namespace) -> None:
    """`baton approve ACTION_ID --revision R`: approve it, after the `--set` edits if any."""
    from agents.decision import DecisionRequest

    _decide(
        args,
        DecisionRequest(
            action_id=args.action_id,
            revision=args.revision,
            verdict="approve",
            changes=_parse_sets(args.set),
        ),
    )


def cmd_reject(args: argparse.Namespace) -> None:
    """`baton reject ACTION_ID --reason ...`: reject the current (or given) revision."""
    from agents.decision import DecisionRequest

    action = open_baton().get_action(args.action_id)
    _decide(
        args,
        DecisionRequest(
            action_id=args.action_id,
            revision=args.revision or action.revision,
            verdict="reject",
            reason=args.reason,
        ),
    )


def cmd_why(args: argparse.Namespace) -> None:
    """`baton why ACTION_ID [--not ALTERNATIVE]`: the explanation, or a why-not comparison."""
    if args.alternative is not None:
        question = args.alternative.strip()
        if not question.lower().startswith("why"):
            question = f"why not {question}?"
        comparison = open_baton().why_not(question=question, action_id=args.action_id)
        if args.json:
            print_json(comparison.model_dump(mode="json"))
        else:
            print(comparison.to_markdown())
        return
    explanation = open_baton().explain(action_id=args.action_id)
    if args.json:
        print_json(explanation.model_dump(mode="json"))
    else:
        print(explanation.to_markdown())
