"""`make bench`: planning the winback brief and approving its segment at 20k, 200k and 1M contacts.

"Plan" proposes the segment; "approve" executes it and proposes copy (with the fatigue
check), the schedule (send plan and channel mix) and the budget. Each demo workspace is
generated once (1M contacts: several minutes) and cached under `--cache-dir`; a run
works on a copy of it. Every run plans a new brief on that copy, with this process's
caches of derived results emptied first, so each plan is the first in a process. Run
with `python -m benchmarks.plan_scale [--sizes 20000 200000 1000000] [--runs N]`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from agents.decision import DecisionRequest
from agents.service import Baton
from benchmarks.loop import TODAY, WINBACK, offline_settings
from db.engine import read_session, write_session
from tools import rfm, segment_profile
from tools.send_time import clear_send_time_cache
from workspace.contact_rollups import contact_rollups
from workspace.rollups import refresh_rollups

SIZES = (20_000, 200_000, 1_000_000)
RATIO_TARGET = 3.0
"""Plan + approve at 200k contacts: at most this many times the 20k time."""
MILLION_TARGET_MS = 500.0
"""Plan, and approve, at 1M contacts: at most this long each."""


def cached_workspace(cache: Path, contacts: int) -> Path:
    """The data directory of a demo workspace of this size, generated on first use.

    A workspace cached by an older Baton is brought up to date: its rollups are rebuilt
    once, so it holds every rollup this Baton reads.
    """
    home = cache / str(contacts)
    if not (home / "baton.db").exists():
        shutil.rmtree(home, ignore_errors=True)
        print(f"generating the {contacts:,}-contact demo workspace (cached in {home})...")
        baton, _ = Baton.open(offline_settings(home), today=TODAY, demo_contacts=contacts)
        baton.engine.dispose()
    baton, _ = Baton.open(offline_settings(home), today=TODAY)
    with read_session(baton.engine) as session:
        current = contact_rollups(session.connection()) is not None
    if not current:
        print(f"rebuilding the rollups of the cached {contacts:,}-contact workspace...")
        with write_session(baton.engine) as session:
            refresh_rollups(session)
    # Closing the last connection checkpoints the WAL, so a copy is whole.
    baton.engine.dispose()
    return home


def _forget_derived_results() -> None:
    segment_profile._TIERS.clear()
    rfm._CUTS.clear()
    clear_send_time_cache()


def measure(home: Path, runs: int) -> tuple[list[float], list[float]]:
    """Plan and approve times (ms) of `runs` winback briefs on one workspace."""
    baton, _ = Baton.open(offline_settings(home), today=TODAY)
    plans, approvals = [], []
    for _ in range(runs):
        _forget_derived_results()
        start = time.perf_counter()
        plan_id = baton.plan_brief(WINBACK, actor="admin", today=TODAY).plan_id
        plans.append((time.perf_counter() - start) * 1000)
        segment = baton.list_actions(plan_id=plan_id)[0]
        approve = DecisionRequest(action_id=segment.action_id, revision=1, verdict="approve")
        start = time.perf_counter()
        baton.decide(approve, actor="admin")
        approvals.append((time.perf_counter() - start) * 1000)
    baton.engine.dispose()
    return plans, approvals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/baton-bench-loop"))
    args = parser.parse_args()
    medians: dict[int, tuple[float, float]] = {}
    for contacts in args.sizes:
        template = cached_workspace(args.cache_dir, contacts)
        with tempfile.TemporaryDirectory(prefix="baton-plan-scale-") as scratch:
            home = Path(scratch) / "home"
            shutil.copytree(template, home)
            plans, approvals = measure(home, args.runs)
        medians[contacts] = (statistics.median(plans), statistics.median(approvals))

    print(f"\nPlan + approve the winback brief, median of {args.runs} runs per size\n")
    print("| contacts | plan ms | approve ms | plan + approve ms | x the smallest | target |")
    print("| ---: | ---: | ---: | ---: | ---: | --- |")
    base = sum(medians[min(medians)])
    for contacts, (plan, approve) in medians.items():
        target = "-"
        if contacts == 200_000:
            target = f"<= {RATIO_TARGET:g}x 20k"
        elif contacts == 1_000_000:
            met = plan <= MILLION_TARGET_MS and approve <= MILLION_TARGET_MS
            target = f"<= {MILLION_TARGET_MS:,.0f} ms each ({'met' if met else 'not met'})"
        total = plan + approve
        print(
            f"| {contacts:,} | {plan:,.0f} | {approve:,.0f} | {total:,.0f} | "
            f"{total / base:.2f} | {target} |"
        )
    if 20_000 in medians and 200_000 in medians:
        ratio = sum(medians[200_000]) / sum(medians[20_000])
        met = "met" if ratio <= RATIO_TARGET else "not met"
        print(f"\n200k / 20k (plan + approve): {ratio:.2f}x, target <= {RATIO_TARGET:g}x ({met})")


if __name__ == "__main__":
    main()
