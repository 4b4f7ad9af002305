"""Commands that oversee what Baton does: audit, lessons, feedback, autonomy, kill-switch."""

from __future__ import annotations

import argparse
import sys

from app.banner import notice
from app.cli.console import open_baton, print_json
from app.cli.errors import AuditBroken


def cmd_kill_switch(args: argparse.Namespace) -> None:
    """`baton kill-switch on|off|status`: pause all execution at once, or release it."""
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
    """`baton audit export|verify`: the hash-chained audit log, for approvers and admins."""
    from agents.audit import export_audit, verify_audit

    baton = open_baton()
    baton.require(args.as_user, "audit")
    if args.audit_command == "verify":
        verdict = verify_audit(baton.engine)
        if verdict.broken_at is not None:
            raise AuditBroken(verdict.detail)
        print(verdict.detail)
        return
    if args.output:
        with open(args.output, "w", newline="", encoding="utf-8") as handle:
            count = export_audit(baton.engine, handle, fmt=args.format)
        notice(f"Wrote {count:,} audit events to {args.output}.")
    else:
        export_audit(baton.engine, sys.stdout, fmt=args.format)


def cmd_lessons(args: argparse.Namespace) -> None:
    """`baton lessons [forget ID]`: what Baton has learned; forget one."""
    baton = open_baton()
    if args.lessons_command == "forget":
        statement = baton.forget_lesson(args.lesson_id, actor=args.as_user)
        print(f"Forgot lesson {args.lesson_id}: {statement}.")
        return
    views = baton.list_lessons(include_inactive=args.all)
    if args.json:
        print_json([v.model_dump(mode="json") for v in views])
        return
    if not views:
        print("No lessons yet: edits, rejection reasons and thumbs-down comments teach Baton.")
    for v in views:
        state = "" if v.active else f"  (superseded by {v.superseded_by})"
        print(f"{v.lesson_id:>4}  [{v.playbook} · {v.tool}] {v.statement}{state}")


def cmd_feedback(args: argparse.Namespace) -> None:
    """`baton feedback search WORDS`: thumbs-up/down comments matching any word, best first."""
    hits = open_baton().search_feedback(args.query, limit=args.limit)
    if args.json:
        print_json([h.model_dump(mode="json") for h in hits])
        return
    if not hits:
        print(f"No feedback mentions {args.query!r}.")
    for h in hits:
        thumb = "+1" if h.value > 0 else "-1"
        about = f" on {h.action_id}" if h.action_id else ""
        when = h.created_at.date().isoformat()
        print(f"{h.id:>6}  {thumb}  {h.actor} {when}{about}: {h.excerpt.replace('**', '')}")


def cmd_autonomy(args: argparse.Namespace) -> None:
    """`baton autonomy [raise|lower KIND]`: approval streaks and earned autonomy per kind."""
    baton = open_baton()
    if args.autonomy_command == "raise":
        print(baton.raise_autonomy(args.kind, actor=args.as_user))
        return
    if args.autonomy_command == "lower":
        print(baton.lower_autonomy(args.kind, actor=args.as_user))
        return
    kinds = baton.autonomy_overview()
    if args.json:
        print_json([k.model_dump(mode="json") for k in kinds])
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
