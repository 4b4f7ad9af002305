"""`baton` as a subprocess over a data directory, as scripts run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.home import subprocess_env

BATON = [sys.executable, "-m", "app.cli"]
ROOT = Path(__file__).resolve().parents[2]


def run(
    home: Path, *args: str, stdin: str | None = None, **env_extra: str
) -> subprocess.CompletedProcess[str]:
    env = subprocess_env(home, **env_extra)
    return subprocess.run(
        [*BATON, *args], cwd=ROOT, env=env, input=stdin, text=True, capture_output=True, timeout=180
    )
