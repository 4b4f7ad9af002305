"""The `baton` parser stays light: help and usage errors load no database or model layer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agents.policy import ROLES
from app.cli.parser import build_parser

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "sqlmodel", "pydantic", "chainlit", "openai")
LAYERS = ("agents", "db", "tools", "workspace")
LIGHT = ["db", "db.errors", "db.vocabulary"]
"""The shared words and the error base: plain Python, which the parser may use."""


def test_the_parser_offers_the_policy_roles() -> None:
    parsed = build_parser().parse_args(["users", "add", "x", "--role", ROLES[-1]])
    assert parsed.role == ROLES[-1]
    for role in ROLES:
        assert build_parser().parse_args(["users", "add", "x", "--role", role]).role == role


def test_help_imports_nothing_heavy() -> None:
    probe = (
        "import sys\n"
        "from app.cli import main\n"
        "try:\n"
        "    main(['users', 'add', 'x', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {LAYERS!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    heavy, layers = out.stdout.strip().splitlines()[-2:]
    assert heavy == "[]"
    assert layers == str(LIGHT)
