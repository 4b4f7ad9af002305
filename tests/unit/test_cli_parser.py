"""The `baton` parser stays light: help and usage errors load no database or model layer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agents.policy import ROLES
from app.cli.parser import ROLES as PARSER_ROLES

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "sqlmodel", "chainlit", "openai", "agents", "db", "tools", "workspace")


def test_the_parser_offers_the_policy_roles() -> None:
    assert PARSER_ROLES == ROLES


def test_help_imports_nothing_heavy() -> None:
    probe = (
        "import sys\n"
        "from app.cli import main\n"
        "try:\n"
        "    main(['users', 'add', 'x', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
