"""The marketer's data: importing real CSVs, regenerating the demo, never mixing the two."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import Engine

from agents.lifecycle import Actor, DecisionError
from db.audit import append_audit
from db.engine import read_session, write_session
from db.models import Meta
from workspace.demo import DemoStats, generate_demo_workspace
from workspace.importer import ImportReport, import_csv
from workspace.rollups import refresh_rollups

ImportKind = Literal["contacts", "events", "spend"]
Progress = Callable[[int, int], None]
MAX_DEMO_CONTACTS = 5_000_000


def detect_kind(path: Path) -> ImportKind:
    """Which CSV this is, from its header row (for uploads that do not say)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = {h.strip().lower() for h in next(csv.reader(handle), [])}
    except (OSError, UnicodeDecodeError) as exc:
        raise DecisionError(
            "invalid", f"{path.name} could not be read as a UTF-8 CSV file."
        ) from exc
    if {"date", "spend"} <= header:
        return "spend"
    if {"event", "occurred_at"} <= header:
        return "events"
    if "email" in header:
        return "contacts"
    raise DecisionError(
        "invalid",
        f"{path.name} is not a contacts, events or spend CSV: its header row has none of "
        f"email / event,occurred_at / date,spend.",
    )


def workspace_source(engine: Engine) -> str:
    """ "demo", "import", or "" for an empty workspace."""
    with read_session(engine) as session:
        row = session.get(Meta, "workspace_source")
        return row.value if row else ""


def import_file(
    engine: Engine,
    *,
    kind: ImportKind,
    path: Path,
    actor: Actor,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one CSV, all or nothing, in one write transaction with its audit event.

    The caller has checked that the actor may import (`Policy.require`).
    """
    if not path.is_file():
        raise DecisionError("not_found", f"There is no file {path}.")
    now = datetime.now(UTC)
    with write_session(engine) as session:
        report = import_csv(session, kind, path, now=now, progress=progress)
        refresh_rollups(session)  # in the same transaction: readers never see stale rollups
        append_audit(
            session,
            at=now,
            actor=actor.name,
            kind="workspace.imported",
            entity="workspace",
            entity_id=kind,
            data=report.model_dump(mode="json"),
        )
    return report


def regenerate_demo(
    engine: Engine,
    *,
    contacts: int,
    seed: int,
    actor: Actor,
    replace_imported: bool = False,
    target_events: int | None = None,
    today: date | None = None,
) -> DemoStats:
    """Replace the workspace with a generated demo; imported data only when asked to.

    The caller has checked that the actor may regenerate it (`Policy.require`).
    """
    if not 1 <= contacts <= MAX_DEMO_CONTACTS:
        raise DecisionError("invalid", f"--contacts must be between 1 and {MAX_DEMO_CONTACTS:,}.")
    if workspace_source(engine) == "import" and not replace_imported:
        raise DecisionError(
            "invalid",
            "This workspace holds imported data; demo data would replace it. Run "
            "`baton demo-data --replace-imported-data` if that is what you want.",
        )
    now = datetime.now(UTC)
    with write_session(engine) as session:
        stats = generate_demo_workspace(
            session,
            contacts=contacts,
            seed=seed,
            today=today or now.date(),
            target_events=target_events,
        )
        refresh_rollups(session)
        append_audit(
            session,
            at=now,
            actor=actor.name,
            kind="workspace.demo_generated",
            entity="workspace",
            entity_id="demo",
            data={"contacts": contacts, "seed": seed, "target_events": target_events},
        )
    return stats
