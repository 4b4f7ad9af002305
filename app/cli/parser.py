"""The `baton` argument tree: every command, its options and the function that runs it."""

from __future__ import annotations

import argparse
import os

from app.cli.data import cmd_demo_data, cmd_import, cmd_users_add
from app.cli.governance import cmd_audit, cmd_autonomy, cmd_feedback, cmd_kill_switch, cmd_lessons
from app.cli.plans import cmd_actions, cmd_approve, cmd_plan, cmd_reject, cmd_why
from app.cli.web import cmd_run
from db.vocabulary import ACTION_STATUSES, ROLES

STATUSES = ACTION_STATUSES
"""What `actions --status` filters on."""


def _search_limit(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise argparse.ArgumentTypeError(f"--limit takes a whole number from 1 to 100, not {raw!r}")
    return int(raw)


def build_parser() -> argparse.ArgumentParser:
    """Every `baton` command; each sets `func`, the command function that runs it."""
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
    actions.add_argument("--status", choices=STATUSES)
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
