"""What a `baton` call costs before it does anything: the imports a command pays for.

Times, in the same run and interleaved, whole processes of
`python -c "import sqlalchemy, pydantic, sqlmodel"` (the floor every database command
pays), `baton --help` and `baton actions --json` on an initialised demo data directory,
and prints the medians with their ratio to the floor against the issue's targets
(--help <= 0.5x, actions --json <= 1.3x). Every command reads compiled bytecode, as an
installed baton does: with PYTHONDONTWRITEBYTECODE set, baton's own modules would be
compiled on every start while the libraries' bytecode was written when they were installed.

    python -m benchmarks.cli [--runs 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR = [sys.executable, "-c", "import sqlalchemy, pydantic, sqlmodel"]
HELP = [sys.executable, "-m", "app.cli", "--help"]
ACTIONS = [sys.executable, "-m", "app.cli", "actions", "--json"]
TARGETS = {"help": 0.5, "actions": 1.3}


def _env(root: Path) -> dict[str, str]:
    drop = (
        "BATON_DB_URL", "BATON_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "DATABASE_URL",
        "PYTHONDONTWRITEBYTECODE",
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in drop}
    # Bytecode goes beside the data directory, not into the source tree.
    return {**env, "BATON_HOME": str(root / ".baton"), "PYTHONPYCACHEPREFIX": str(root / "pyc")}


def _seconds(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - started


def measure(runs: int) -> dict[str, float]:
    """Median seconds per command, the commands interleaved so load hits them alike."""
    root = Path(tempfile.mkdtemp(prefix="baton-bench-cli-"))
    try:
        env = _env(root)
        # First use builds the data directory and a demo workspace; then plan one brief so
        # `actions` has actions to list. One untimed round writes every command's bytecode.
        plan = [sys.executable, "-m", "app.cli", "plan", "--today", "2026-11-21", "--json"]
        brief = "Win back customers who haven't bought in 90 days, $2,000, email and SMS"
        subprocess.run([*plan, brief], cwd=ROOT, env=env, check=True, capture_output=True)
        for command in (FLOOR, HELP, ACTIONS):
            _seconds(command, env)
        times: dict[str, list[float]] = {"floor": [], "help": [], "actions": []}
        for _ in range(runs):
            times["floor"].append(_seconds(FLOOR, env))
            times["help"].append(_seconds(HELP, env))
            times["actions"].append(_seconds(ACTIONS, env))
        return {name: statistics.median(values) for name, values in times.items()}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    medians = measure(args.runs)
    floor = medians["floor"]
    if args.json:
        print(json.dumps({k: round(v * 1000, 1) for k, v in medians.items()}))
        return
    print(f"\nbaton's start-up cost, median of {args.runs} interleaved runs (whole processes)\n")
    print("| command | median ms | x floor | target | met |")
    print("| --- | ---: | ---: | ---: | --- |")
    print(
        f"| import sqlalchemy + pydantic + sqlmodel (floor) | {floor * 1000:,.0f} | 1.00 | - | - |"
    )
    for name, label in (("help", "baton --help"), ("actions", "baton actions --json")):
        ratio = medians[name] / floor
        met = "yes" if ratio <= TARGETS[name] else "no"
        print(
            f"| {label} | {medians[name] * 1000:,.0f} | {ratio:.2f} | <= {TARGETS[name]} | {met} |"
        )


if __name__ == "__main__":
    main()
