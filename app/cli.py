"""`baton`: the headless face of the service API (DESIGN 10). Its JSON is a public contract."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agents.audit import export_audit, verify_audit
from agents.bootstrap import FirstRun
from agents.lifecycle import DecisionError
from agents.policy import ROLES, PolicyError
from agents.service import Baton, DecisionRequest
from db.settings import Settings
from workspace.importer import ImportRefused


class CliError(Exception):
    """A refusal to print as one sentence on stderr, with exit code 2."""


class AuditBroken(Exception):
    """`audit verify` found a broken link: one sentence on stderr, exit code 1."""


def _notice(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def announce_first_run(first_run: FirstRun) -> None:
    """Say once what a new data directory holds: the admin login and the demo data."""
    if first_run.demo is not None:
        d = first_run.demo
        _notice(
            f"Baton: generated a demo workspace ({d.contacts:,} contacts, {d.events:,} events,"
            f" {d.spend_rows:,} spend rows)."
        )
    if first_run.admin_password:
        _notice("=" * 64)
        _notice("  Baton admin login (shown once; reset with `baton users add admin --role admin`)")
        _notice("    user:     admin")
        _notice(f"    password: {first_run.admin_password}")
        _notice("=" * 64)


def open_baton(today: date | None = None) -> Baton:
    baton, first_run = Baton.open(Settings.from_env(), today=today)
    announce_first_run(first_run)
    return baton


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


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
    today = date.fromisoformat(args.today) if args.today else None
    baton = open_baton(today)
    plan = baton.plan_brief(args.brief, actor=args.as_user, today=today)
    for notice in plan.notices:
        print(notice, file=sys.stderr)
    if args.json:
        _print_json(plan.model_dump(mode="json"))
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
    baton = open_baton()
    actions = baton.list_actions(plan_id=args.plan, status=args.status)
    if args.json:
        _print_json([a.model_dump(mode="json") for a in actions])
        return
    if not actions:
        print("No actions.")
    for a in actions:
        print(_action_line(a.model_dump()))


def _decide(args: argparse.Namespace, request: DecisionRequest) -> None:
    baton = open_baton()
    outcome = baton.decide(request, actor=args.as_user)
    if getattr(args, "json", False):
        _print_json(outcome.model_dump(mode="json"))
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
    if args.alternative is not None:
        question = args.alternative.strip()
        if not question.lower().startswith("why"):
            question = f"why not {question}?"
        comparison = open_baton().why_not(question=question, action_id=args.action_id)
        if args.json:
            _print_json(comparison.model_dump(mode="json"))
        else:
            print(comparison.to_markdown())
        return
    explanation = open_baton().explain(action_id=args.action_id)
    if args.json:
        _print_json(explanation.model_dump(mode="json"))
    else:
        print(explanation.to_markdown())


def cmd_demo_data(args: argparse.Namespace) -> None:
    baton = open_baton()
    stats = baton.regenerate_demo(
        contacts=args.contacts,
        seed=args.seed,
        actor=args.as_user,
        replace_imported=args.replace_imported_data,
        target_events=args.events,
    )
    print(
        f"Demo workspace: {stats.contacts:,} contacts, {stats.events:,} events, "
        f"{stats.spend_rows:,} spend rows (seed {args.seed})."
    )


def cmd_import(args: argparse.Namespace) -> None:
    baton = open_baton()

    def progress(done: int, total: int) -> None:
        of = f" of {total:,}" if total else ""
        _notice(f"  {done:,}{of} rows read")

    report = baton.import_csv(args.kind, Path(args.file), actor=args.as_user, progress=progress)
    if args.json:
        _print_json(report.model_dump(mode="json"))
        return
    if report.replaced_demo:
        print("The generated demo data was removed: real and demo records never mix.")
    print(
        f"Imported {report.file}: {report.rows:,} rows, {report.inserted:,} new, "
        f"{report.updated:,} updated"
        + (f", {report.duplicates_merged:,} duplicates merged" if report.duplicates_merged else "")
        + (f", {report.consent_changes:,} consent changes" if report.consent_changes else "")
        + "."
    )


def cmd_users_add(args: argparse.Namespace) -> None:
    baton = open_baton()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        generated = False
    else:
        from agents.accounts import generate_password

        password, generated = generate_password(), True
    try:
        baton.add_user(name=args.name, role=args.role, password=password)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    print(f"User {args.name} ({args.role}) saved.")
    if generated:
        print(f"password: {password}")


def cmd_kill_switch(args: argparse.Namespace) -> None:
    baton = open_baton()
    if args.state == "status":
        print(
            "Kill switch is " + ("ENGAGED: nothing executes." if baton.kill_switch_on() else "off.")
        )
        return
    cancelled = baton.set_kill_switch(on=args.state == "on", actor=args.as_user)
    if args.state == "on":
        print(
            f"Kill switch engaged: nothing executes until `baton kill-switch off`; "
            f"{cancelled} approved action(s) not yet started were cancelled."
        )
    else:
        print("Kill switch released: approved actions run again.")


def cmd_audit(args: argparse.Namespace) -> None:
    baton = open_baton()
    who = baton.actor(args.as_user)
    if who.role not in ("approver", "admin"):
        raise CliError(f"{who.name} is a {who.role}; the audit log needs the approver role.")
    if args.audit_command == "verify":
        verdict = verify_audit(baton.engine)
        if verdict.broken_at is not None:
            raise AuditBroken(verdict.detail)
        print(verdict.detail)
        return
    if args.output:
        with open(args.output, "w", newline="", encoding="utf-8") as handle:
            count = export_audit(baton.engine, handle, fmt=args.format)
        _notice(f"Wrote {count:,} audit events to {args.output}.")
    else:
        export_audit(baton.engine, sys.stdout, fmt=args.format)


def cmd_lessons(args: argparse.Namespace) -> None:
    baton = open_baton()
    if args.lessons_command == "forget":
        statement = baton.forget_lesson(args.lesson_id, actor=args.as_user)
        print(f"Forgot lesson {args.lesson_id}: {statement}.")
        return
    views = baton.list_lessons(include_inactive=args.all)
    if args.json:
        _print_json([v.model_dump(mode="json") for v in views])
        return
    if not views:
        print("No lessons yet: edits, rejection reasons and thumbs-down comments teach Baton.")
    for v in views:
        state = "" if v.active else f"  (superseded by {v.superseded_by})"
        print(f"{v.lesson_id:>4}  [{v.playbook} · {v.tool}] {v.statement}{state}")


def _search_limit(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise argparse.ArgumentTypeError(f"--limit takes a whole number from 1 to 100, not {raw!r}")
    return int(raw)


def cmd_feedback(args: argparse.Namespace) -> None:
    hits = open_baton().search_feedback(args.query, limit=args.limit)
    if args.json:
        _print_json([h.model_dump(mode="json") for h in hits])
        return
    if not hits:
        print(f"No feedback mentions {args.query!r}.")
    for h in hits:
        thumb = "+1" if h.value > 0 else "-1"
        about = f" on {h.action_id}" if h.action_id else ""
        when = h.created_at.date().isoformat()
        print(f"{h.id:>6}  {thumb}  {h.actor} {when}{about}: {h.excerpt.replace('**', '')}")


def cmd_autonomy(args: argparse.Namespace) -> None:
    baton = open_baton()
    if args.autonomy_command == "raise":
        print(baton.raise_autonomy(args.kind, actor=args.as_user))
        return
    if args.autonomy_command == "lower":
        print(baton.lower_autonomy(args.kind, actor=args.as_user))
        return
    kinds = baton.autonomy_overview()
    if args.json:
        _print_json([k.model_dump(mode="json") for k in kinds])
        return
    if not kinds:
        print("No actions yet.")
    for k in kinds:
        by = f" (raised by {k.granted_by})" if k.granted_by else ""
        state = "runs by itself" if k.runs_by_itself else "asks first"
        offer = "  <- suggested: `baton autonomy raise " + k.kind + "`" if k.suggested else ""
        print(
            f"{k.kind:<16} level {k.effective_level}{by}, {state}; {k.approved_unchanged} "
            f"approved unchanged, {k.edited} edited, {k.rejected} rejected, streak {k.streak}"
            f"{offer}"
        )


def cmd_run(args: argparse.Namespace) -> None:
    from app.server import serve

    serve(host=args.host, port=args.port)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="baton",
        description="Baton, the marketing orchestration copilot. The AI decides, code executes.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="start the web app")
    run.add_argument("--host", default=os.environ.get("BATON_HOST", "127.0.0.1"))
    run.add_argument("--port", type=int, default=int(os.environ.get("BATON_PORT", "8000")))
    run.set_defaults(func=cmd_run)

    plan = sub.add_parser("plan", help="plan a brief and propose the first actions")
    plan.add_argument("brief")
    plan.add_argument("--json", action="store_true")
    plan.add_argument("--today", help="pin today (YYYY-MM-DD) for reproducible plans")
    plan.add_argument("--as", dest="as_user", default="admin", metavar="USER")
    plan.set_defaults(func=cmd_plan)

    actions = sub.add_parser("actions", help="list actions")
    actions.add_argument("--plan")
    actions.add_argument(
        "--status",
        choices=[
            "proposed",
            "approved",
            "executing",
            "succeeded",
            "failed",
            "rejected",
            "superseded",
            "cancelled",
        ],
    )
    actions.add_argument("--json", action="store_true")
    actions.set_defaults(func=cmd_actions)

    approve = sub.add_parser("approve", help="approve a revision (with --set: edit, then approve)")
    approve.add_argument("action_id")
    approve.add_argument("--revision", type=int, required=True)
    approve.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    approve.add_argument("--as", dest="as_user", default="admin", metavar="USER")
    approve.add_argument("--json", action="store_true")
    approve.set_defaults(func=cmd_approve)

    reject = sub.add_parser("reject", help="reject an action, with a reason")
    reject.add_argument("action_id")
    reject.add_argument("--reason", required=True)
    reject.add_argument("--revision", type=int, help="default: the current revision")
    reject.add_argument("--as", dest="as_user", default="admin", metavar="USER")
    reject.add_argument("--json", action="store_true")
    reject.set_defaults(func=cmd_reject)

    why = sub.add_parser("why", help="why an action is what it is, from its decision record")
    why.add_argument("action_id")
    why.add_argument(
        "--not",
        dest="alternative",
        metavar="ALTERNATIVE",
        help='compare with an alternative ("Sunday", "6pm", "only email", "800 on sms"); '
        "the tool re-runs with it, nothing is changed",
    )
    why.add_argument("--json", action="store_true")
    why.set_defaults(func=cmd_why)

    demo = sub.add_parser("demo-data", help="(re)generate the demo workspace")
    demo.add_argument("--contacts", type=int, default=20_000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument(
        "--events", type=int, help="about how many events to generate (default: ~22 per contact)"
    )
    demo.add_argument(
        "--replace-imported-data",
        action="store_true",
        help="allow replacing imported (real) data with generated demo data",
    )
    demo.add_argument("--as", dest="as_user", default="admin", metavar="USER")
    demo.set_defaults(func=cmd_demo_data)

    kill = sub.add_parser("kill-switch", help="pause all execution at once (or release it)")
    kill.add_argument("state", choices=["on", "off", "status"])
    kill.add_argument("--as", dest="as_user", default="admin", metavar="USER")
    kill.set_defaults(func=cmd_kill_switch)

    imp = sub.add_parser("import", help="load real data from a CSV file (all or nothing)")
    imp.add_argument("kind", choices=["contacts", "events", "spend"])
    imp.add_argument("file")
    imp.add_argument("--as", dest="as_user", default="admin", metavar="USER")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(func=cmd_import)

    lessons = sub.add_parser("lessons", help="what Baton has learned from your decisions")
    lessons.add_argument("--json", action="store_true")
    lessons.add_argument("--all", action="store_true", help="include superseded lessons")
    lessons.set_defaults(func=cmd_lessons, lessons_command="list")
    lessons_sub = lessons.add_subparsers(dest="lessons_command", metavar="SUBCOMMAND")
    forget = lessons_sub.add_parser("forget", help="stop applying a lesson")
    forget.add_argument("lesson_id", type=int)
    forget.add_argument("--as", dest="as_user", default="admin", metavar="USER")
    forget.set_defaults(func=cmd_lessons)

    feedback = sub.add_parser("feedback", help="search the thumbs-up/down comments")
    feedback_sub = feedback.add_subparsers(dest="feedback_command", required=True)
    search = feedback_sub.add_parser("search", help="comments matching any word, best first")
    search.add_argument("query", metavar="WORDS")
    search.add_argument("--limit", type=_search_limit, default=10)
    search.add_argument("--json", action="store_true")
    search.set_defaults(func=cmd_feedback)

    auto = sub.add_parser("autonomy", help="per action kind: approval streaks, earned autonomy")
    auto.add_argument("--json", action="store_true")
    auto.set_defaults(func=cmd_autonomy, autonomy_command="list")
    auto_sub = auto.add_subparsers(dest="autonomy_command", metavar="SUBCOMMAND")
    for name, text in (
        ("raise", "accept Baton's suggestion: let this kind run without asking"),
        ("lower", "make this kind ask first again"),
    ):
        change = auto_sub.add_parser(name, help=text)
        change.add_argument("kind", metavar="KIND")
        change.add_argument("--as", dest="as_user", default="admin", metavar="USER")
        change.set_defaults(func=cmd_autonomy)

    audit = sub.add_parser("audit", help="export or verify the hash-chained audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="SUBCOMMAND")
    export = audit_sub.add_parser("export", help="every event, oldest first")
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    export.add_argument("--output", help="a file to write (default: stdout)")
    export.add_argument("--as", dest="as_user", default="admin", metavar="USER")
    export.set_defaults(func=cmd_audit)
    verify = audit_sub.add_parser("verify", help="recompute the chain; name the first broken link")
    verify.add_argument("--as", dest="as_user", default="admin", metavar="USER")
    verify.set_defaults(func=cmd_audit)

    users = sub.add_parser("users", help="manage logins")
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="SUBCOMMAND")
    add = users_sub.add_parser("add", help="add a user or reset their role and password")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--password-stdin", action="store_true")
    add.set_defaults(func=cmd_users_add)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (CliError, DecisionError, PolicyError, ImportRefused) as exc:
        print(f"baton: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        print(f"baton: {where}: {first['msg']}.", file=sys.stderr)
        return 2
    except AuditBroken as exc:
        print(f"baton: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
