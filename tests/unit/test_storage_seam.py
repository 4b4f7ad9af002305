"""SQLite-only SQL stays behind the storage seam in db/, so another engine changes db/ only.

Every engine-specific construct is written by a named function in db/ (db.dialect,
db.temp, db.search, db.bulk, db.staging, db.engine). This scans the string constants of
every module in the layers above db/ for SQLite-only SQL, and their code for the raw
SQLite driver. Docstrings and other bare string statements are prose and not scanned.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("agents", "tools", "workspace", "app")

ALLOWED = frozenset(
    {
        # Chainlit's chat-history store: its own SQLite file, written through Chainlit's
        # SQLAlchemy data layer (aiosqlite) apart from Baton's database. It belongs to the
        # app layer, whose storage a later issue replaces; it is not behind the seam.
        "app/datalayer.py",
    }
)

SQLITE_ONLY: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("INSERT OR ...", re.compile(r"\bINSERT\s+OR\s+(IGNORE|REPLACE|ABORT|FAIL|ROLLBACK)\b", re.I)),
    ("REPLACE INTO", re.compile(r"\bREPLACE\s+INTO\b", re.I)),
    ("strftime(", re.compile(r"\bstrftime\s*\(", re.I)),
    ("julianday(", re.compile(r"\bjulianday\s*\(", re.I)),
    ("unixepoch(", re.compile(r"\bunixepoch\s*\(", re.I)),
    ("datetime(", re.compile(r"\bdatetime\s*\(", re.I)),
    ("printf(", re.compile(r"\bprintf\s*\(", re.I)),
    ("char(", re.compile(r"\bchar\s*\(", re.I)),
    ("iif(", re.compile(r"\biif\s*\(", re.I)),
    ("ifnull(", re.compile(r"\bifnull\s*\(", re.I)),
    (
        "json_each and other JSON1 functions",
        re.compile(r"\bjson_(each|tree|patch|extract)\b", re.I),
    ),
    ("group_concat", re.compile(r"\bgroup_concat\b", re.I)),
    ("GLOB", re.compile(r"\bGLOB\b", re.I)),
    ("PRAGMA", re.compile(r"\bPRAGMA\b", re.I)),
    ("CREATE TEMP", re.compile(r"\bCREATE\s+TEMP(ORARY)?\b", re.I)),
    ("NOT INDEXED / INDEXED BY", re.compile(r"\b(NOT\s+INDEXED|INDEXED\s+BY)\b", re.I)),
    ("MATCH (full-text search)", re.compile(r"\bMATCH\b")),
    ("FTS5 table or function", re.compile(r"\b(fts[345]|\w+_fts|bm25|snippet)\b", re.I)),
    ("rowid", re.compile(r"\b(_?rowid_?|oid)\b", re.I)),
    ("sqlite_ name", re.compile(r"\bsqlite_\w+", re.I)),
    (
        "CROSS JOIN ... ON (a join-order hint)",
        re.compile(r"\bCROSS\s+JOIN\s+[\w.]+(\s+(AS\s+)?\w+)?\s+ON\b", re.I),
    ),
    ("unary plus (an index hint)", re.compile(r"\b(WHERE|AND|OR)\s+\+[a-z_]", re.I)),
    (
        "sum of a condition",
        re.compile(r"\bsum\(\s*(?!CASE\b)[^()]*?([<>!]?=|<>|[<>]|\bIS\b|\bEXISTS\b)", re.I),
    ),
    ("IN <table> (no subquery)", re.compile(r"\bIN\s+[a-z_][\w.]*\b(?!\s*\()")),
)
"""SQLite-only SQL, each with the regex that finds it in a string constant."""

RAW_DRIVERS = frozenset({"sqlite3", "aiosqlite", "apsw"})
RAW_CONNECTION_ATTRIBUTES = frozenset({"driver_connection", "dbapi_connection"})


def seam_violations(source: str, path: str) -> list[str]:
    """`path:line: what` for each SQLite-only construct or raw driver use in the source."""
    tree = ast.parse(source)
    prose = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            found += [
                f"{path}:{node.lineno}: {label} in {' '.join(node.value.split())[:80]!r}"
                for label, pattern in SQLITE_ONLY
                if pattern.search(node.value)
            ]
        elif isinstance(node, ast.Import):
            found += [
                f"{path}:{node.lineno}: import {alias.name}"
                for alias in node.names
                if alias.name.split(".")[0] in RAW_DRIVERS
            ]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in RAW_DRIVERS:
            found.append(f"{path}:{node.lineno}: from {node.module} import")
        elif isinstance(node, ast.Attribute) and node.attr in RAW_CONNECTION_ATTRIBUTES:
            found.append(f"{path}:{node.lineno}: the raw driver connection (.{node.attr})")
    return found


def _modules() -> list[Path]:
    return sorted(path for layer in LAYERS for path in (ROOT / layer).rglob("*.py"))


def test_no_sqlite_only_sql_above_db() -> None:
    found: list[str] = []
    for path in _modules():
        name = path.relative_to(ROOT).as_posix()
        if name not in ALLOWED:
            found += seam_violations(path.read_text(encoding="utf-8"), name)
    listing = "\n".join(found)
    assert not found, f"SQLite-only SQL outside db/ (use or add a function in db/):\n{listing}"


def test_every_allowed_module_still_needs_it() -> None:
    for name in ALLOWED:
        assert seam_violations((ROOT / name).read_text(encoding="utf-8"), name), name


@pytest.mark.parametrize(
    "source",
    [
        'SQL = "INSERT OR IGNORE INTO t (id) VALUES (?)"',
        "SQL = \"SELECT strftime('%w', at) FROM event\"",
        'SQL = "SELECT julianday(a) - julianday(b)"',
        "SQL = \"SELECT datetime(at, printf('%+d minutes', m))\"",
        "SQL = \"SELECT group_concat(char(256 + code), '') FROM slot\"",
        'SQL = "SELECT value FROM json_each(:ids)"',
        "SQL = \"WHERE phone GLOB '+[0-9]*'\"",
        'SQL = "PRAGMA main.cache_size"',
        'SQL = "CREATE TEMP TABLE ids (id INTEGER)"',
        'SQL = f"SELECT * FROM {table} NOT INDEXED"',
        'SQL = "SELECT rowid FROM note_fts WHERE note_fts MATCH :q"',
        'SQL = "DELETE FROM stage ORDER BY rowid"',
        "SQL = \"SELECT name FROM sqlite_master WHERE type = 'index'\"",
        'SQL = f"FROM {ids} i CROSS JOIN contact c ON c.id = i.id"',
        "SQL = \"FROM event WHERE +event IN ('send', 'open')\"",
        "SQL = \"SELECT sum(event = 'send') FROM event\"",
        'SQL = "SELECT sum(EXISTS (SELECT 1 FROM delivery)) FROM contact"',
        'SQL = "WHERE id IN capped"',
        "import sqlite3",
        "from sqlite3 import connect",
        "driver = session.connection().connection.driver_connection",
    ],
)
def test_the_scan_finds_each_construct(source: str) -> None:
    assert seam_violations(source, "probe.py")


def test_the_scan_passes_portable_sql_and_prose() -> None:
    source = '''
"""Module prose may name json_each, PRAGMA or rowid: it never runs."""
SQL = (
    "SELECT channel, sum(sends), count(*), coalesce(sum(revenue), 0), "
    "sum(CASE WHEN event = 'purchase' THEN revenue ELSE 0 END) "
    "FROM rollup_kpi_day d CROSS JOIN (VALUES ('email')) AS ch "
    "WHERE day >= :start AND channel IN :channels AND id IN (SELECT id FROM ids) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
'''
    assert seam_violations(source, "probe.py") == []
