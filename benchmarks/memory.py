"""Memory benchmark: lessons, "why" and feedback search with a long history behind them.

Run with `python -m benchmarks.memory [--lessons N] [--feedback N] [--audit N] [--runs N]`.
The data directory is built once and kept under `--cache-dir` (keyed by BUILD_VERSION and
the sizes): a real Baton workspace with real plans (planned, edited, approved, rejected),
those plans cloned into a few thousand actions, then bulk history: lessons (mostly
superseded or forgotten), feedback comments, and audit events on a valid hash chain.
Each operation runs once untimed, then `--runs` times; the table gives p50 and p95.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from agents.audit import verify_audit
from agents.decision import DecisionRequest
from agents.lifecycle import DecisionError
from agents.memory.lessons import lessons_for
from agents.planning.goal import PLAYBOOKS
from agents.service import Baton
from benchmarks.loop import offline_settings
from db.audit import GENESIS_HASH, _digest
from db.engine import read_session

BUILD_VERSION = "memory-v2"
TODAY = date(2026, 11, 21)
START = datetime(2024, 11, 21, tzinfo=UTC)
SEED = 11
CONTACTS = 3000
BRIEFS = (
    "Win back customers who haven't bought in 90 days, $2,000, email and SMS, start December 1",
    "Black Friday sale: 25% off for VIP customers, email and SMS, $1,500",
    "Launch our new trail running shoe to active customers by email next week, budget $3,000",
    "Send the December newsletter to subscribers on December 3",
    "How did our channels perform last month? Give me a KPI report.",
    "Budget review: are we pacing on our $8,000 budget this month?",
)
LEARNED_PARAMS: dict[str, tuple[str, ...]] = {
    "schedule_send": ("send_weekday", "send_hour_local"),
    "build_segment": ("min_days_since_purchase", "frequency_cap"),
    "allocate_budget": ("budget",),
    "draft_copy": ("subject",),
    "design_test": ("mde", "alpha"),
    "launch_campaign": ("channels",),
}
COMMENTS = (
    "SMS is too expensive for this audience",
    "sms costs too much, keep it to email",
    "subject line feels pushy",
    "great timing, opens were up",
    "too many messages this week",
    "the segment missed our VIP customers",
    "love the copy, very on brand",
    "why Sunday? our customers shop on weekdays",
    "budget split looks right",
    "the discount is too generous for lapsed buyers",
    "report was clear, thanks",
    "send earlier in the morning next time",
)
AUDIT_KINDS = (
    ("action.proposed", "action"),
    ("action.approved", "action"),
    ("action.executing", "action"),
    ("action.succeeded", "action"),
    ("action.edited", "action"),
    ("feedback.recorded", "feedback"),
    ("lesson.learned", "lesson"),
    ("plan.created", "plan"),
)
LESSON_EXTRAS: dict[str, Any] = {"rule": "set", "feedback_ids": "[]"}
ID_PATTERN = re.compile(r"\b((?:plan|step|act)_[0-9a-f]{10})\b")
CLONED_TABLES = ("plan", "step", "action", "actionrevision", "decision")


def _stamp(moment: datetime) -> str:
    """A UTC instant as SQLAlchemy stores DateTime in SQLite."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _drive_real_plans(baton: Baton) -> None:
    """Plan each brief; edit schedules (teaches lessons), reject some copy, approve the rest."""
    for round_ in range(2):
        for brief in BRIEFS:
            plan_id = baton.plan_brief(brief, actor="admin", today=TODAY).plan_id
            for _ in range(10):
                pending = [a for a in baton.list_actions(plan_id=plan_id) if a.status == "proposed"]
                if not pending:
                    break
                for a in pending:
                    verdict: Any = "approve"
                    changes: dict[str, Any] = {}
                    if a.tool == "schedule_send":
                        changes = {"send_hour_local": 9 + round_}
                    elif a.tool == "draft_copy" and round_ == 1:
                        verdict = "reject"
                    request = DecisionRequest(
                        action_id=a.action_id,
                        revision=a.revision,
                        verdict=verdict,
                        changes=changes,
                        reason="too pushy" if verdict == "reject" else "",
                    )
                    try:
                        baton.decide(request, actor="admin")
                    except DecisionError:
                        continue


def _clone_plans(conn: sqlite3.Connection, copies: int) -> None:
    """Copy every plan with its steps, actions, revisions and decisions, under new ids."""
    conn.row_factory = sqlite3.Row
    rows = {t: [dict(r) for r in conn.execute(f"SELECT * FROM {t}")] for t in CLONED_TABLES}
    conn.row_factory = None
    for copy in range(copies):
        suffix = f"_c{copy:04d}"
        shift = timedelta(hours=copy * 7)
        for table in CLONED_TABLES:
            batch = []
            for row in rows[table]:
                new = {
                    k: ID_PATTERN.sub(rf"\1{suffix}", v) if isinstance(v, str) else v
                    for k, v in row.items()
                    if not (k == "id" and isinstance(v, int))
                }
                for key in ("created_at", "updated_at"):
                    if isinstance(new.get(key), str):
                        moment = datetime.fromisoformat(new[key]).replace(tzinfo=UTC) - shift
                        new[key] = _stamp(moment)
                batch.append(new)
            if batch:
                columns = list(batch[0])
                conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' for _ in columns)})",
                    [tuple(r[c] for c in columns) for r in batch],
                )


def _insert_lessons(conn: sqlite3.Connection, count: int, rng: random.Random) -> None:
    """Chains of lessons per (tool, param, playbook): each superseded by the next."""
    decisions = [r[0] for r in conn.execute("SELECT id FROM decision")]
    real = {
        (tool, param, playbook): lesson_id
        for lesson_id, tool, param, playbook in conn.execute(
            "SELECT id, tool, param, playbook FROM lesson "
            "WHERE deleted_at IS NULL AND superseded_by IS NULL"
        )
    }
    scopes = [
        (tool, param, playbook)
        for tool, params in LEARNED_PARAMS.items()
        for param in params
        for playbook in PLAYBOOKS
    ]
    next_id = (conn.execute("SELECT max(id) FROM lesson").fetchone()[0] or 0) + 1
    chains: dict[tuple[str, str, str], list[list[Any]]] = {s: [] for s in scopes}
    span = (datetime.combine(TODAY, datetime.min.time(), UTC) - START).total_seconds()
    moments = sorted(START + timedelta(seconds=rng.random() * span) for _ in range(count))
    for moment in moments:
        tool, param, playbook = scope = rng.choice(scopes)
        value = rng.randint(0, 23) if param != "channels" else rng.choice([["email"], ["sms"]])
        actor = rng.choice(("admin", "maria", "li", "sam"))
        row: list[Any] = [
            next_id,
            {"schedule_send": "channel", "build_segment": "audience"}.get(tool, "performance"),
            tool,
            param,
            json.dumps(value),
            f"{param} = {value}, learned from {actor}'s edit on {moment.date().isoformat()}",
            playbook,
            json.dumps([rng.choice(decisions)] if decisions else []),
            actor,
            _stamp(moment),
            None,
            _stamp(moment + timedelta(days=3)) if rng.random() < 0.03 else None,
        ]
        if chains[scope]:
            chains[scope][-1][10] = next_id
        chains[scope].append(row)
        next_id += 1
    for scope, chain in chains.items():
        if chain and scope in real:  # the real lessons are the newest on their scope
            chain[-1][10] = real[scope]
    columns = [
        "id", "agent", "tool", "param", "value", "statement", "playbook", "decision_ids",
        "actor", "created_at", "superseded_by", "deleted_at",
    ]  # fmt: skip
    # Columns later migrations added (lesson rule kinds, teaching feedback), when present.
    present = {r[1] for r in conn.execute("PRAGMA table_info(lesson)")}
    extra = {k: v for k, v in LESSON_EXTRAS.items() if k in present}
    conn.executemany(
        f"INSERT INTO lesson ({', '.join([*columns, *extra])}) "
        f"VALUES ({', '.join('?' for _ in [*columns, *extra])})",
        [(*row, *extra.values()) for chain in chains.values() for row in chain],
    )


def _insert_feedback(conn: sqlite3.Connection, count: int, rng: random.Random) -> None:
    actions = [r[0] for r in conn.execute("SELECT id FROM action")]
    rows = []
    for n in range(count):
        comment = rng.choice(COMMENTS)
        if rng.random() < 0.5:
            comment += ". " + rng.choice(COMMENTS)
        on_action = rng.random() < 0.6
        rows.append(
            (
                rng.choice(("admin", "maria", "li", "sam")),
                rng.choice((1, -1)),
                comment,
                None if on_action else f"msg_{n:07d}",
                f"thread_{n % 997:04d}",
                rng.choice(actions) if on_action else None,
                _stamp(START + timedelta(minutes=n * 7)),
            )
        )
    conn.executemany(
        "INSERT INTO feedback (actor, value, comment, message_id, thread_id, action_id, "
        "created_at) VALUES (?,?,?,?,?,?,?)",
        rows,
    )


def _audit_rows(conn: sqlite3.Connection, count: int, rng: random.Random) -> Iterator[tuple]:
    """Audit events chained to the latest one, with db.audit's own hashing."""
    actions = [r[0] for r in conn.execute("SELECT id FROM action")]
    last = conn.execute("SELECT hash FROM auditevent ORDER BY id DESC LIMIT 1").fetchone()
    prev = last[0] if last else GENESIS_HASH
    step = (datetime.combine(TODAY, datetime.min.time(), UTC) - START) / count
    for n in range(count):
        kind, entity = rng.choice(AUDIT_KINDS)
        entity_id = rng.choice(actions) if entity == "action" else str(n)
        data: dict[str, Any] = {"revision": 1 + n % 3, "n": n}
        at = START + step * n
        actor = rng.choice(("admin", "maria", "orchestrator", "executor", "policy"))
        digest = _digest(prev, at, actor, kind, entity, entity_id, data)
        yield (_stamp(at), actor, kind, entity, entity_id, json.dumps(data), prev, digest)
        prev = digest


def build(home: Path, *, lessons: int, feedback: int, audit: int, copies: int) -> None:
    """Build the data directory into a temporary name, then move it into place."""
    partial = home.with_name(home.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    baton, _ = Baton.open(offline_settings(partial), today=TODAY, demo_contacts=CONTACTS)
    _drive_real_plans(baton)
    baton.engine.dispose()
    rng = random.Random(SEED)
    conn = sqlite3.connect(partial / "baton.db", isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")  # a benchmark fixture, rebuilt if interrupted
    conn.execute("BEGIN")
    _clone_plans(conn, copies)
    _insert_lessons(conn, lessons, rng)
    _insert_feedback(conn, feedback, rng)
    rows = _audit_rows(conn, audit, rng)
    while batch := [row for _, row in zip(range(50_000), rows, strict=False)]:
        conn.executemany(
            "INSERT INTO auditevent (at, actor, kind, entity, entity_id, data, prev_hash, hash) "
            "VALUES (?,?,?,?,?,?,?,?)",
            batch,
        )
    conn.execute("COMMIT")
    conn.close()
    partial.rename(home)


def _percentiles(run: Callable[[], object], runs: int) -> tuple[float, float]:
    run()  # untimed: the first call loads pages and compiles statements
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(times, n=100)
    return statistics.median(times), cuts[94]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lessons", type=int, default=100_000)
    parser.add_argument("--feedback", type=int, default=100_000)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--copies", type=int, default=60, help="clones of the real plans")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/baton-bench-memory"))
    parser.add_argument("--skip-verify", action="store_true", help="skip the audit verify")
    args = parser.parse_args()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    key = f"{BUILD_VERSION}-{args.lessons}l-{args.feedback}f-{args.audit}a-{args.copies}c"
    home = args.cache_dir / key
    rows: list[tuple[str, str, str, str, str]] = []
    if not home.exists():
        start = time.perf_counter()
        build(
            home, lessons=args.lessons, feedback=args.feedback, audit=args.audit, copies=args.copies
        )
        rows.append(
            (
                "build the history (once, cached)",
                f"{time.perf_counter() - start:,.1f} s",
                "-",
                "-",
                "-",
            )
        )

    baton, _ = Baton.open(offline_settings(home), today=TODAY)
    with read_session(baton.engine) as session:
        conn = session.connection()
        counts = {
            table: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
            for table in ("action", "lesson", "feedback", "auditevent")
        }
        action_ids = list(conn.exec_driver_sql("SELECT id FROM action").scalars())
    rng = random.Random(SEED)
    scopes = [(tool, playbook) for tool in LEARNED_PARAMS for playbook in PLAYBOOKS]

    def lessons() -> object:
        tool, playbook = rng.choice(scopes)
        with read_session(baton.engine) as session:
            return lessons_for(session, tool=tool, playbook=playbook)

    def why() -> object:
        return baton.explain(action_id=rng.choice(action_ids)).to_markdown()

    def why_question() -> object:
        return baton.explain(question="why this audience?").to_markdown()

    def search() -> object:
        return baton.search_feedback("sms too expensive")

    def measured(name: str, run: Callable[[], object], target: float | None) -> None:
        p50, p95 = _percentiles(run, args.runs)
        met = "-" if target is None else ("yes" if p95 <= target else "no")
        rows.append((name, f"{p50:.2f}", f"{p95:.2f}", f"<= {target:g}" if target else "-", met))

    measured("lessons for a proposal (lessons_for)", lessons, 10)
    measured("why, by action id (explain + markdown)", why, 50)
    measured('why, from a question ("why this audience?")', why_question, 50)
    measured('feedback full-text search ("sms too expensive")', search, None)
    if not args.skip_verify:
        start = time.perf_counter()
        verdict = verify_audit(baton.engine)
        seconds = time.perf_counter() - start
        state = "verifies" if verdict.broken_at is None else f"broken at {verdict.broken_at}"
        rows.append(
            (
                f"audit verify, {verdict.events:,} events ({state})",
                f"{seconds:,.1f} s",
                "-",
                "-",
                "-",
            )
        )
    baton.engine.dispose()

    print(
        f"\nBaton memory at scale: {counts['lesson']:,} lessons, {counts['feedback']:,} "
        f"feedback rows, {counts['auditevent']:,} audit events, {counts['action']:,} actions; "
        f"p50/p95 of {args.runs} runs\n"
    )
    print("| operation | p50 ms | p95 ms | target p95 ms | met |")
    print("| --- | ---: | ---: | ---: | :-: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
