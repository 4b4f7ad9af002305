"""Importing real data end to end: the CLI, roles, demo replacement, all or nothing."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from agents.lifecycle import DecisionError
from agents.service import Baton
from tests.support.cli import run
from tests.support.home import TODAY
from workspace.importer import ImportRefused

CONTACT_HEADER = [
    "email", "first_name", "last_name", "phone", "country", "region", "timezone", "created_at",
    "email_consent", "sms_consent", "push_consent", "unsubscribed", "lifetime_value", "orders",
    "last_purchase_at", "favourite_sport",
]  # fmt: skip


def _contacts(path: Path, rows: int, *, bad_row: int | None = None) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CONTACT_HEADER)
        for i in range(rows):
            created = "2026-13-01" if bad_row is not None and i + 2 == bad_row else "2025-03-01"
            writer.writerow([
                f"Person{i}@Example.com", "Ada", f"Lovelace{i}", "", "US", "Americas",
                "America/New_York", created, "true", "yes" if i % 2 else "no", "0", "false",
                "120.5", "3", "2026-06-01T10:00:00Z", "trail running",
            ])  # fmt: skip
    return path


def _counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'note_fts%'")]  # fmt: skip
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def test_a_bad_date_in_row_7_names_the_row_and_changes_nothing(home: Path, tmp_path: Path) -> None:
    before = _counts(home / "baton.db")
    out = run(home, "import", "contacts", str(_contacts(tmp_path / "c.csv", 20, bad_row=7)))
    assert out.returncode == 2 and out.stdout == ""
    first = next(line for line in out.stderr.splitlines() if line.startswith("baton:"))
    assert first.startswith("baton: c.csv was not imported") and "nothing was changed" in first
    assert "Row 7, column created_at" in out.stderr
    assert _counts(home / "baton.db") == before


def test_importing_real_contacts_replaces_the_demo_and_says_so(home: Path, tmp_path: Path) -> None:
    out = run(home, "import", "contacts", str(_contacts(tmp_path / "c.csv", 50)), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["replaced_demo"] is True and report["inserted"] == 50
    counts = _counts(home / "baton.db")
    assert counts["contact"] == 50 and counts["event"] == 0
    again = json.loads(
        run(home, "import", "contacts", str(_contacts(tmp_path / "c.csv", 50)), "--json").stdout
    )
    assert again["replaced_demo"] is False and again["updated"] == 50
    refused = run(home, "demo-data", "--contacts", "100")
    assert refused.returncode == 2 and "--replace-imported-data" in refused.stderr
    assert _counts(home / "baton.db")["contact"] == 50


def test_a_plan_runs_on_imported_data(home: Path, tmp_path: Path) -> None:
    run(home, "import", "contacts", str(_contacts(tmp_path / "c.csv", 40)))
    out = run(home, "plan", "--json", "--today", TODAY.isoformat(),
              "Win back customers who haven't bought in 90 days by email")  # fmt: skip
    assert out.returncode == 0, out.stderr
    segment = next(s["action"] for s in json.loads(out.stdout)["steps"] if s["agent"] == "audience")
    assert segment["evidence"]["matched"] == 40  # last purchase 2026-06-01: lapsed


def test_viewers_cannot_import_and_unknown_kinds_are_refused(baton: Baton, tmp_path: Path) -> None:
    baton.add_user(name="vera", role="viewer", password="viewer-pass-1")
    with pytest.raises(DecisionError) as refused:
        baton.import_csv("contacts", _contacts(tmp_path / "c.csv", 3), actor="vera")
    assert refused.value.code == "forbidden"
    junk = tmp_path / "junk.csv"
    junk.write_text("colour,size\nred,4\n")
    with pytest.raises((DecisionError, ImportRefused)) as unknown:
        baton.import_csv(None, junk, actor="admin")
    assert "junk.csv" in str(unknown.value)
