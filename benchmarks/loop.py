"""`make bench`: how long the loop takes on the default demo workspace, as a table.

Median of several runs of each operation, each run on a fresh copy of one demo
workspace. Run with `python -m benchmarks.loop [--runs N] [--contacts N]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from agents.decision import DecisionRequest
from agents.service import Baton
from db.settings import Settings

TODAY = date(2026, 11, 21)
WINBACK = (
    "Win back customers who haven't bought in 90 days, $2,000, email and SMS, start December 1"
)
REPORT = "How did our channels perform last month? Give me a KPI report."


def offline_settings(home: Path) -> Settings:
    """Settings for a data directory with no model: what every benchmark runs against."""
    return Settings(
        home=home,
        db_url=f"sqlite:///{home / 'baton.db'}",
        model=None,
        openai_api_key=None,
        openai_base_url=None,
    )


def _since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _approve_pending(baton: Baton, plan_id: str) -> None:
    for _ in range(10):
        pending = [a for a in baton.list_actions(plan_id=plan_id) if a.status == "proposed"]
        if not pending:
            return
        for a in pending:
            request = DecisionRequest(action_id=a.action_id, revision=a.revision, verdict="approve")
            baton.decide(request, actor="admin")


def _one_run(baton: Baton) -> dict[str, float]:
    timings: dict[str, float] = {}
    start = time.perf_counter()
    plan_id = baton.plan_brief(WINBACK, actor="admin", today=TODAY).plan_id
    timings["plan a winback brief (segment proposed)"] = _since(start)

    segment = baton.list_actions(plan_id=plan_id)[0]
    start = time.perf_counter()
    baton.decide(
        DecisionRequest(action_id=segment.action_id, revision=1, verdict="approve"), actor="admin"
    )
    timings["approve the segment (execute + propose 3)"] = _since(start)

    schedule = next(a for a in baton.list_actions(plan_id=plan_id) if a.tool == "schedule_send")
    edit = DecisionRequest(
        action_id=schedule.action_id, revision=1, verdict="edit", changes={"send_hour_local": 9}
    )
    start = time.perf_counter()
    baton.decide(edit, actor="admin")
    timings["edit a schedule (re-evaluate + re-gate)"] = _since(start)

    start = time.perf_counter()
    whole = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    _approve_pending(baton, whole.plan_id)
    timings["whole winback, brief to shadow launch"] = _since(start)

    start = time.perf_counter()
    baton.explain(question="why this audience?", plan_id=plan_id).to_markdown()
    timings["answer why (from the record)"] = _since(start)

    start = time.perf_counter()
    baton.plan_brief(REPORT, actor="admin", today=TODAY)
    timings["performance report (runs by itself)"] = _since(start)
    return timings


def _cli_ms(home: Path) -> float:
    """What a script pays per call: interpreter start, imports, opening the ledger, output."""
    env = {k: v for k, v in os.environ.items() if k not in ("BATON_DB_URL", "BATON_MODEL")}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "app.cli", "actions", "--json"],
        env={**env, "BATON_HOME": str(home)},
        check=True,
        capture_output=True,
    )
    return _since(start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--contacts", type=int, default=20_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="baton-bench-"))
    try:
        template = root / "template"
        start = time.perf_counter()
        created, _ = Baton.open(
            offline_settings(template), today=TODAY, demo_contacts=args.contacts
        )
        first_run = _since(start)
        # Closing the last connection checkpoints the WAL, so the copies below are whole.
        created.engine.dispose()
        rows: dict[str, list[float]] = {}
        for run in range(args.runs):
            home = root / f"run{run}"
            shutil.copytree(template, home)
            baton, _ = Baton.open(offline_settings(home), today=TODAY)
            for name, ms in _one_run(baton).items():
                rows.setdefault(name, []).append(ms)
            baton.engine.dispose()
            rows.setdefault("`baton actions --json`, a whole process", []).append(_cli_ms(home))
        print(
            f"\nBaton benchmark: {args.contacts:,}-contact demo workspace, "
            f"median of {args.runs} runs\n"
        )
        print("| operation | median ms | min ms | max ms |")
        print("| --- | ---: | ---: | ---: |")
        print(f"| first run: data directory + demo workspace | {first_run:,.0f} | - | - |")
        for name, values in rows.items():
            print(
                f"| {name} | {statistics.median(values):,.0f} | {min(values):,.0f} | "
                f"{max(values):,.0f} |"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
