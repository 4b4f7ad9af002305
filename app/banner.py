"""What Baton says on stderr outside a command's output: notices and the first-run banner."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agents.bootstrap import FirstRun


def notice(text: str) -> None:
    """One line on stderr, so stdout keeps only a command's output (and its JSON)."""
    print(text, file=sys.stderr, flush=True)


def announce_first_run(first_run: FirstRun) -> None:
    """Say once what a new data directory holds: the admin login and the demo data."""
    if first_run.demo is not None:
        d = first_run.demo
        notice(
            f"Baton: generated a demo workspace ({d.contacts:,} contacts, {d.events:,} events,"
            f" {d.spend_rows:,} spend rows)."
        )
    if first_run.admin_password:
        notice("=" * 64)
        notice("  Baton admin login (shown once; reset with `baton users add admin --role admin`)")
        notice("    user:     admin")
        notice(f"    password: {first_run.admin_password}")
        notice("=" * 64)
