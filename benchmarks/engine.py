"""`make bench`: what one approval round trip costs the engine, against bare SQLite.

A round trip is one `Baton.decide` approval, the path the chat and the CLI take: the
action is approved, its no-op skill runs, the audit events are written and the next
step's action is proposed. Plans of 8 chained steps of a registered no-op skill (risk
"internal" at the default autonomy, so each step waits for a person) are built directly
in the ledger; after one warm-up plan, every approval but each plan's last is timed.
The floor is the least a durable approval can cost: one bare transaction on a raw
sqlite3 connection (BEGIN IMMEDIATE, a compare-and-set UPDATE, one audit INSERT, COMMIT).
Both run on a real file in a temp directory with WAL and synchronous=FULL.
Statements are those the engine sent SQLite during the timed round trips (SQLAlchemy's
cursor executes plus the COMMIT or ROLLBACK the driver issues), per round trip.
Run with `python -m benchmarks.engine [--plans N] [--json]`; --json prints one object.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.engine import Engine

from agents import lifecycle, orchestrator
from agents.decision import DecisionRequest
from agents.planning.goal import Goal
from agents.service import Baton
from agents.specialists.base import Evaluation, Proposal, Skill, SkillContext
from agents.specialists.registry import SKILLS
from benchmarks.loop import offline_settings
from db.audit import append_audit
from db.engine import write_session
from db.models import Action, Plan, Step

TODAY = date(2026, 11, 21)
STEPS = 8
DEMO_CONTACTS = 200
"""Enough for a brand profile (the gate reads it); the no-op skill reads no contacts."""
TARGET_RATIO = 10.0
TARGET_STATEMENTS = 12


class NoopParams(BaseModel):
    """The fixed, tiny parameters every no-op step proposes."""

    note: str = "noop"


def _propose(ctx: SkillContext) -> Proposal:
    return Proposal(params={"note": "noop"}, rationale="A benchmark step that does nothing.")


def _evaluate(ctx: SkillContext, params: dict[str, Any], changed: frozenset[str]) -> Evaluation:
    return Evaluation(params=params)


def _execute(ctx: SkillContext, action: Action) -> dict[str, Any]:
    return {"done": True}


NOOP = Skill(
    agent="bench",
    kind="bench_noop",
    risk="internal",
    params_model=NoopParams,
    result_model=None,
    propose=_propose,
    evaluate=_evaluate,
    execute=_execute,
    summary="Does nothing; the engine benchmark's step.",
)


@dataclass
class StatementCounter:
    """Counts the statements the engine sends to SQLite while `on`.

    SQLAlchemy's cursor executes (BEGIN included: db/engine.py issues it as one), plus
    the COMMIT or ROLLBACK the driver issues itself at the end of each transaction.
    Nothing on the approval path uses a raw connection, so this is every statement.
    """

    on: bool = False
    statements: int = 0
    transaction_ends: int = 0

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._transaction_end)
        event.listen(engine, "rollback", self._transaction_end)

    def _statement(self, *_args: Any) -> None:
        if self.on:
            self.statements += 1

    def _transaction_end(self, _conn: Any) -> None:
        if self.on:
            self.statements += 1
            self.transaction_ends += 1


def _store_plan(engine: Engine) -> str:
    """A plan of STEPS no-op steps, each depending on the one before, as the service stores one."""
    now = datetime.now(UTC)
    goal = Goal(objective="Benchmark the engine.", playbook="performance_report")
    plan = Plan(
        id=lifecycle.new_id("plan"),
        brief="Benchmark the engine.",
        goal=goal.model_dump(mode="json"),
        planner="offline",
        today=TODAY,
        created_by="admin",
        created_at=now,
    )
    with write_session(engine) as session:
        session.add(plan)
        session.flush()
        previous: list[str] = []
        for position in range(STEPS):
            step = Step(
                id=lifecycle.new_id("step"),
                plan_id=plan.id,
                position=position,
                key=f"noop{position}",
                agent=NOOP.agent,
                kind=NOOP.kind,
                title=f"No-op step {position + 1}",
                depends_on=previous,
            )
            session.add(step)
            previous = [step.id]
        append_audit(
            session,
            at=now,
            actor="admin",
            kind="plan.created",
            entity="plan",
            entity_id=plan.id,
            data={"brief": plan.brief, "planner": plan.planner, "playbook": goal.playbook},
        )
    return plan.id


def _run_plan(baton: Baton, counter: StatementCounter, *, timed: bool) -> list[float]:
    """Propose a new plan's first step, then approve each in turn; the round trips' ms."""
    plan_id = _store_plan(baton.engine)
    created = orchestrator.advance(baton.engine, plan_id, baton.policy())
    assert len(created) == 1, "the first no-op step should wait for approval"
    action_id, samples = created[0], []
    for position in range(STEPS):
        request = DecisionRequest(action_id=action_id, revision=1, verdict="approve")
        measured = timed and position < STEPS - 1  # the last approval proposes nothing
        counter.on = measured
        start = time.perf_counter()
        outcome = baton.decide(request, actor="admin")
        elapsed = (time.perf_counter() - start) * 1000
        counter.on = False
        assert outcome.action.status == "succeeded", outcome.action.error
        if position < STEPS - 1:
            assert [a.status for a in outcome.new_actions] == ["proposed"]
            action_id = outcome.new_actions[0].action_id
        if measured:
            samples.append(elapsed)
    return samples


def _engine_round_trips(root: Path, plans: int) -> tuple[list[float], StatementCounter]:
    baton, _ = Baton.open(
        offline_settings(root / "engine"), today=TODAY, demo_contacts=DEMO_CONTACTS
    )
    counter = StatementCounter()
    counter.attach(baton.engine)
    try:
        _run_plan(baton, counter, timed=False)
        samples: list[float] = []
        for _ in range(plans):
            samples += _run_plan(baton, counter, timed=True)
    finally:
        baton.engine.dispose()
    return samples, counter


def _sqlite_floor(root: Path, samples: int) -> list[float]:
    """Bare approvals: BEGIN IMMEDIATE, compare-and-set UPDATE, one audit INSERT, COMMIT."""
    conn = sqlite3.connect(root / "floor.db", isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(
            "CREATE TABLE action (id TEXT PRIMARY KEY, status TEXT NOT NULL, "
            "revision INTEGER NOT NULL)"
        )
        conn.execute(
            "CREATE TABLE audit (id INTEGER PRIMARY KEY, prev_hash TEXT NOT NULL, "
            "hash TEXT NOT NULL UNIQUE, payload TEXT NOT NULL)"
        )
        state = {f"act_{i}": ("proposed", 1) for i in range(STEPS)}
        conn.executemany(
            "INSERT INTO action (id, status, revision) VALUES (?, ?, ?)",
            [(k, s, r) for k, (s, r) in state.items()],
        )
        prev = "0" * 64
        timings: list[float] = []
        for i in range(samples + STEPS):  # the first STEPS are a warm-up
            action_id = f"act_{i % STEPS}"
            status, revision = state[action_id]
            new = ("approved" if status == "proposed" else "proposed", revision + 1)
            payload = json.dumps({"action": action_id, "status": new[0], "revision": new[1]})
            start = time.perf_counter()
            digest = hashlib.sha256((prev + payload).encode()).hexdigest()
            conn.execute("BEGIN IMMEDIATE")
            updated = conn.execute(
                "UPDATE action SET status=?, revision=? WHERE id=? AND status=? AND revision=?",
                (*new, action_id, status, revision),
            ).rowcount
            conn.execute(
                "INSERT INTO audit (prev_hash, hash, payload) VALUES (?, ?, ?)",
                (prev, digest, payload),
            )
            conn.execute("COMMIT")
            elapsed = (time.perf_counter() - start) * 1000
            assert updated == 1
            state[action_id], prev = new, digest
            if i >= STEPS:
                timings.append(elapsed)
        return timings
    finally:
        conn.close()


def _summary(values: list[float]) -> dict[str, Any]:
    p95 = statistics.quantiles(values, n=20, method="inclusive")[18]
    return {"p50": round(statistics.median(values), 3), "p95": round(p95, 3), "n": len(values)}


@dataclass(frozen=True)
class Figures:
    """One run's measurements."""

    round_trips: list[float]
    floor: list[float]
    statements: int
    transaction_ends: int
    """Of the statements, the COMMITs and ROLLBACKs."""

    def per_round_trip(self, count: int) -> float:
        return round(count / len(self.round_trips), 1)

    def as_json(self) -> dict[str, Any]:
        """The --json contract: fields are only ever added."""
        return {
            "engine_roundtrip_ms": _summary(self.round_trips),
            "sqlite_floor_ms": _summary(self.floor),
            "statements_per_roundtrip": self.per_round_trip(self.statements),
        }


def measure(plans: int) -> Figures:
    """Time `plans` plans' round trips, then as many bare SQLite transactions."""
    root = Path(tempfile.mkdtemp(prefix="baton-bench-engine-"))
    SKILLS[NOOP.kind] = NOOP  # the one registry line to adapt if the lookup moves
    try:
        round_trips, counter = _engine_round_trips(root, plans)
        floor = _sqlite_floor(root, len(round_trips))
    finally:
        SKILLS.pop(NOOP.kind, None)
        shutil.rmtree(root, ignore_errors=True)
    return Figures(round_trips, floor, counter.statements, counter.transaction_ends)


def _table(figures: Figures, plans: int) -> None:
    result = figures.as_json()
    engine, floor = result["engine_roundtrip_ms"], result["sqlite_floor_ms"]
    ratio = engine["p50"] / floor["p50"]
    statements = result["statements_per_roundtrip"]
    ends = figures.per_round_trip(figures.transaction_ends)
    print(
        f"\nBaton engine benchmark: {engine['n']} approval round trips "
        f"({plans} plans of {STEPS} no-op steps) against bare SQLite, WAL + synchronous=FULL\n"
    )
    print("| measure | p50 | p95 | target | met |")
    print("| --- | ---: | ---: | ---: | --- |")
    print(f"| engine round trip, ms | {engine['p50']:,.2f} | {engine['p95']:,.2f} | - | - |")
    print(f"| SQLite floor, ms | {floor['p50']:,.2f} | {floor['p95']:,.2f} | - | - |")
    print(
        f"| engine / floor (p50) | {ratio:,.1f}x | - | <= {TARGET_RATIO:.0f}x | "
        f"{'yes' if ratio <= TARGET_RATIO else 'no'} |"
    )
    print(
        f"| statements per round trip ({ends:,.1f} COMMIT/ROLLBACK) | {statements:,.1f} | - | "
        f"<= {TARGET_STATEMENTS} | {'yes' if statements <= TARGET_STATEMENTS else 'no'} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plans", type=int, default=25, help="timed plans (7 round trips each)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    # stdout carries only the result; anything else printed on the way goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        figures = measure(args.plans)
    if args.json:
        print(json.dumps(figures.as_json()))
    else:
        _table(figures, args.plans)


if __name__ == "__main__":
    main()
