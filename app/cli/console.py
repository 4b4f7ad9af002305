"""What every command shares at the terminal: opening Baton for it and printing JSON."""

from __future__ import annotations

import atexit
import json
from datetime import date
from typing import TYPE_CHECKING, Any

from app.banner import announce_first_run

if TYPE_CHECKING:
    from agents.service import Baton


def open_baton(today: date | None = None) -> Baton:
    """Open the data directory (initialising it on first use, and saying so on stderr)."""
    from agents.service import Baton
    from db.settings import Settings

    baton, first_run = Baton.open(Settings.from_env(), today=today)
    # Closed as the process exits, not by the garbage collector (`main` freezes it).
    atexit.register(baton.close)
    announce_first_run(first_run)
    return baton


def print_json(value: Any) -> None:
    """A command's `--json` output: the only thing on stdout."""
    print(json.dumps(value, indent=2, default=str))
