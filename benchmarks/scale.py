"""Scale benchmark: Baton's core tools on a million-contact, ten-million-event workspace.

Run with `python -m benchmarks.scale [--contacts N] [--events N] [--runs N]`. The
workspace is generated once and kept under `--cache-dir` (keyed by size and seed); each
run rebuilds the rollups once (timed on its own line), then measures every operation
on a fresh connection ("cold": rollups built, nothing of this process's caches) and,
where a cache is part of the design, again with the same inputs ("warm"). The 1M-row
contacts CSV import runs in a child process so its memory is measured apart.
"""

from __future__ import annotations

import argparse
import csv
import inspect
import multiprocessing
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.engine import make_engine, read_session, write_session
from db.schema import migrate
from tools.audience import SegmentRules, build_segment, segment_contact_ids
from tools.performance import kpi_summary
from tools.send_time import best_send_time, clear_send_time_cache
from workspace.demo import generate_demo_workspace
from workspace.rollups import refresh_rollups

TODAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SEED = 7
WINBACK = SegmentRules(channels=["email", "sms"], min_days_since_purchase=90, frequency_cap=3)
CONTACT_COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "country",
    "region",
    "timezone",
    "created_at",
    "email_consent",
    "sms_consent",
    "push_consent",
    "unsubscribed",
    "lifetime_value",
    "orders",
    "last_purchase_at",
)


@dataclass
class Row:
    operation: str
    ms: float | None
    target_ms: float | None = None
    note: str = ""

    def cells(self) -> tuple[str, str, str, str]:
        value = "-" if self.ms is None else f"{self.ms:,.0f}"
        if self.note:
            value = f"{value} ({self.note})" if self.ms is not None else self.note
        if self.target_ms is None:
            return self.operation, value, "-", "-"
        met = "yes" if self.ms is not None and self.ms <= self.target_ms else "no"
        return self.operation, value, f"<= {self.target_ms:,.0f}", met


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _engine(path: Path) -> Engine:
    return make_engine(f"sqlite:///{path}")


def _accepts_target_events() -> bool:
    return "target_events" in inspect.signature(generate_demo_workspace).parameters


def workspace_path(cache_dir: Path, contacts: int, events: int | None) -> Path:
    size = f"{contacts}c-{events}e" if events is not None else f"{contacts}c-default"
    return cache_dir / f"workspace-{size}-seed{SEED}.db"


def build_workspace(path: Path, contacts: int, events: int | None) -> float:
    """Generate the demo workspace into `path` (via a temporary name); return the seconds."""
    partial = path.with_suffix(".partial")
    for leftover in path.parent.glob(partial.name + "*"):
        leftover.unlink()
    engine = _engine(partial)
    migrate(engine)
    start = time.perf_counter()
    extra: dict[str, Any] = {"target_events": events} if events is not None else {}
    with write_session(engine) as session:
        stats = generate_demo_workspace(session, contacts=contacts, seed=SEED, today=TODAY, **extra)
    seconds = time.perf_counter() - start
    # Closing the last connection checkpoints the WAL into the file.
    engine.dispose()
    partial.rename(path)
    print(f"built {path.name}: {stats.contacts:,} contacts, {stats.events:,} events")
    return seconds


def contacts_csv(cache_dir: Path, workspace: Path, contacts: int) -> Path:
    """The workspace's contacts as an import file (written once)."""
    path = cache_dir / f"contacts-{contacts}-seed{SEED}.csv"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    engine = _engine(workspace)
    with read_session(engine) as session, partial.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(CONTACT_COLUMNS)
        cursor = session.connection().exec_driver_sql(
            f"SELECT {', '.join(CONTACT_COLUMNS)} FROM contact ORDER BY id"
        )
        while batch := cursor.fetchmany(10_000):
            writer.writerows(batch)
    engine.dispose()
    partial.rename(path)
    return path


def _import_child(csv_path: str, db_path: str, queue: Any) -> None:
    from workspace.importer import import_csv

    engine = _engine(Path(db_path))
    migrate(engine)
    start = time.perf_counter()
    with write_session(engine) as session:
        report = import_csv(session, "contacts", Path(csv_path), now=NOW)
    elapsed = _ms(start)
    engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((elapsed, report.model_dump().get("inserted"), peak_mb))


def measure_import(csv_path: Path, cache_dir: Path) -> tuple[float, int | None, float]:
    """Import the CSV into a fresh migrated database in a child process."""
    target = cache_dir / "import-target.db"
    for old in cache_dir.glob("import-target.db*"):
        old.unlink()
    queue: Any = multiprocessing.get_context("spawn").Queue()
    child = multiprocessing.get_context("spawn").Process(
        target=_import_child, args=(str(csv_path), str(target), queue)
    )
    child.start()
    result = queue.get()
    child.join()
    for old in cache_dir.glob("import-target.db*"):
        old.unlink()
    return result


@contextmanager
def fresh_session(path: Path) -> Iterator[Session]:
    """A session on a new engine (so a new connection) to the workspace."""
    engine = _engine(path)
    try:
        with read_session(engine) as session:
            yield session
    finally:
        engine.dispose()


def timed_runs(path: Path, runs: int, operation: Callable[[Session], object]) -> list[float]:
    """The operation's time on a fresh connection, once per run."""
    times = []
    for _ in range(runs):
        clear_send_time_cache()
        with fresh_session(path) as session:
            start = time.perf_counter()
            operation(session)
            times.append(_ms(start))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/baton-bench"))
    parser.add_argument("--keep-rollups", action="store_true", help="skip the timed rollup rebuild")
    parser.add_argument("--skip-import", action="store_true")
    args = parser.parse_args()
    args.cache_dir.mkdir(parents=True, exist_ok=True)

    events: int | None = args.events
    if not _accepts_target_events():
        print(
            "note: generate_demo_workspace does not take target_events yet; "
            "using its default cadence (the event count follows from the contacts)"
        )
        events = None
    path = workspace_path(args.cache_dir, args.contacts, events)
    rows: list[Row] = []
    if not path.exists():
        rows.append(
            Row(
                "generate the demo workspace (once, cached)",
                build_workspace(path, args.contacts, events) * 1000,
            )
        )
    engine = _engine(path)
    migrate(engine)
    with read_session(engine) as session:
        conn = session.connection()
        contact_count = conn.exec_driver_sql("SELECT count(*) FROM contact").scalar_one()
        event_count = conn.exec_driver_sql("SELECT count(*) FROM event").scalar_one()
    if not args.keep_rollups:
        start = time.perf_counter()
        with write_session(engine) as session:
            stats = refresh_rollups(session)
        rows.append(
            Row(
                "one-time rollup build (refresh_rollups)",
                _ms(start),
                note=f"{stats.send_rows:,} sends, {stats.profile_rows:,} profiles",
            )
        )
    engine.dispose()

    with fresh_session(path) as session:
        audience = segment_contact_ids(session, WINBACK, now=NOW)

    def segment(session: Session) -> object:
        return build_segment(session, WINBACK, now=NOW)

    def kpis(days: int) -> Callable[[Session], object]:
        return lambda session: kpi_summary(
            session, start=TODAY - timedelta(days=days), end=TODAY - timedelta(days=1)
        )

    segment_times = timed_runs(path, args.runs, segment)
    rows.append(
        Row(
            "segment + suppression (winback: 90 days, email+SMS, cap 3)",
            statistics.median(segment_times),
            300,
        )
    )
    quarter = list(range(1, contact_count + 1, 4))
    for name, ids in (("winback segment", audience), ("every 4th contact", quarter)):

        def send_time(session: Session, ids: list[int] = ids) -> object:
            return best_send_time(session, contact_ids=ids, channel="email", now=NOW)

        label = f"best send time, {name} ({len(ids):,} contacts)"
        rows.append(
            Row(f"{label}, cold", statistics.median(timed_runs(path, args.runs, send_time)), 1000)
        )
        warm: list[float] = []
        for _ in range(args.runs):
            clear_send_time_cache()
            with fresh_session(path) as session:
                send_time(session)
                start = time.perf_counter()
                send_time(session)
                warm.append(_ms(start))
        rows.append(Row(f"{label}, warm (same inputs)", statistics.median(warm), 50))
    for days in (30, 365):
        times = timed_runs(path, args.runs, kpis(days))
        rows.append(Row(f"KPI summary, {days} days", statistics.median(times), 500))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(Row("peak RSS of the tool runs (MB)", peak_mb, 1024))

    if args.skip_import:
        rows.append(Row("import 1M-row contacts CSV", None, note="skipped"))
    else:
        try:
            import workspace.importer  # noqa: F401
        except ImportError:
            rows.append(Row("import contacts CSV", None, note="workspace.importer not available"))
        else:
            csv_path = contacts_csv(args.cache_dir, path, args.contacts)
            elapsed, inserted, import_peak = measure_import(csv_path, args.cache_dir)
            rows.append(
                Row(
                    f"import {args.contacts:,}-row contacts CSV",
                    elapsed,
                    30_000,
                    f"{inserted:,} new" if isinstance(inserted, int) else "",
                )
            )
            rows.append(Row("peak RSS of the import (MB)", import_peak, 1024))

    print(
        f"\nBaton at scale: {contact_count:,} contacts, {event_count:,} events "
        f"(seed {SEED}), median of {args.runs} runs\n"
    )
    print("| operation | median ms | target | met |")
    print("| --- | ---: | ---: | :-: |")
    for row in rows:
        print("| " + " | ".join(row.cells()) + " |")


if __name__ == "__main__":
    main()
