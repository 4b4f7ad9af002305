"""Commands that fill the workspace and its logins: demo-data, import, users add."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.banner import notice
from app.cli.console import open_baton, print_json
from app.cli.errors import CliError


def cmd_demo_data(args: argparse.Namespace) -> None:
    """`baton demo-data`: (re)generate the demo workspace."""
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
    """`baton import KIND FILE.csv`: load real data, all or nothing, with progress on stderr."""
    baton = open_baton()

    def progress(done: int, total: int) -> None:
        of = f" of {total:,}" if total else ""
        notice(f"  {done:,}{of} rows read")

    report = baton.import_csv(args.kind, Path(args.file), actor=args.as_user, progress=progress)
    if args.json:
        print_json(report.model_dump(mode="json"))
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
    """`baton users add NAME --role ROLE`: add a login, or reset its role and password."""
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
