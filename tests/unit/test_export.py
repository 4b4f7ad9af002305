"""Audience export: columns, consent flags, batches, formula cells, no unsubscribed contact."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from db.engine import read_session, write_session
from tests.support.workspace import add_contact, new_engine
from tools import distribution
from tools.distribution import DEFAULT_EXPORT_COLUMNS, esp_columns, export_audience_csv


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = new_engine(tmp_path)
    yield engine
    engine.dispose()


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_export_writes_the_default_columns(engine: Engine, tmp_path: Path) -> None:
    with write_session(engine) as s:
        ada = add_contact(
            s, email="ada@example.com", first_name="Ada", last_name="Ng, Jr.", sms_consent=True
        )
        gone = add_contact(s, email="gone@example.com", unsubscribed=True)
        bo = add_contact(
            s,
            email="bo@example.com",
            first_name="Bo",
            region="Europe",
            timezone="Europe/Berlin",
            email_consent=False,
            push_consent=True,
        )
    path = tmp_path / "audience.csv"
    with read_session(engine) as session:
        written = export_audience_csv(session, contact_ids=[bo, gone, ada, ada, 404], path=path)
    assert written == 2
    assert read_csv(path) == [
        [
            "email",
            "first_name",
            "last_name",
            "region",
            "timezone",
            "email_consent",
            "sms_consent",
            "push_consent",
        ],
        [
            "ada@example.com",
            "Ada",
            "Ng, Jr.",
            "Americas",
            "America/New_York",
            "true",
            "true",
            "false",
        ],
        ["bo@example.com", "Bo", "", "Europe", "Europe/Berlin", "false", "false", "true"],
    ]
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".partial"] == []


def test_export_columns_and_an_empty_list(engine: Engine, tmp_path: Path) -> None:
    with write_session(engine) as s:
        ada = add_contact(s, email="ada@example.com", phone=None)
    path = tmp_path / "out.csv"
    with read_session(engine) as session:
        assert export_audience_csv(
            session, contact_ids=[ada], path=path, columns=["phone", "email"]
        )
        assert read_csv(path) == [["phone", "email"], ["", "ada@example.com"]]
        assert export_audience_csv(session, contact_ids=[], path=path) == 0
        assert read_csv(path)[1:] == [] and read_csv(path)[0][0] == "email"
        for bad in (["email", "password_hash"], [], ["email", "email"]):
            with pytest.raises(ValueError):
                export_audience_csv(
                    session, contact_ids=[ada], path=tmp_path / "x.csv", columns=bad
                )
    assert not (tmp_path / "x.csv").exists()


def test_export_neutralises_formula_cells_and_rewrites_the_same_file(
    engine: Engine, tmp_path: Path
) -> None:
    with write_session(engine) as s:
        evil = add_contact(
            s,
            email="-evil@example.com",
            first_name='=HYPERLINK("http://x.test")',
            last_name="@SUM(A1)",
            phone="+1 555 0100",
            region="+Europe",
            timezone="\tUTC",
        )
        plain = add_contact(s, email="ok@example.com", first_name="A=B", phone="+15550100")
        formula_phone = add_contact(s, email="p@example.com", phone="=1+2")
    path = tmp_path / "audience.csv"
    columns = ["email", "first_name", "last_name", "phone", "region", "timezone"]
    with read_session(engine) as session:
        assert export_audience_csv(
            session, contact_ids=[evil, plain, formula_phone], path=path, columns=columns
        )
        first = read_csv(path)
        # Written again (a retried launch): the same file, the same rows, nothing beside it.
        export_audience_csv(
            session, contact_ids=[evil, plain, formula_phone], path=path, columns=columns
        )
    assert first[1:] == [
        [
            "'-evil@example.com",
            '\'=HYPERLINK("http://x.test")',
            "'@SUM(A1)",
            "'+1 555 0100",
            "'+Europe",
            "'\tUTC",
        ],
        ["ok@example.com", "A=B", "", "+15550100", "Americas", "America/New_York"],
        ["p@example.com", "", "", "'=1+2", "Americas", "America/New_York"],
    ]
    assert read_csv(path) == first
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".csv"] == ["audience.csv"]
    assert not list(tmp_path.glob(".*.partial"))


def test_esp_columns_add_the_phone_for_sms_only() -> None:
    assert esp_columns(["email"]) == list(DEFAULT_EXPORT_COLUMNS)
    assert esp_columns(["email", "sms"])[:4] == ["email", "first_name", "last_name", "phone"]


def test_export_streams_in_batches(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(distribution, "EXPORT_BATCH", 2)
    with write_session(engine) as s:
        ids = [add_contact(s, unsubscribed=n == 2) for n in range(7)]
    path = tmp_path / "batched.csv"
    with read_session(engine) as session:
        assert export_audience_csv(session, contact_ids=ids, path=path, columns=["email"]) == 6
    rows = read_csv(path)[1:]
    assert len(rows) == len({row[0] for row in rows}) == 6


def test_export_never_includes_an_unsubscribed_contact(engine: Engine, tmp_path: Path) -> None:
    emails: dict[int, str] = {}
    unsubscribed: set[int] = set()
    with write_session(engine) as s:
        for n in range(24):
            cid = add_contact(s, email=f"p{n}@example.com", unsubscribed=n % 3 == 0)
            emails[cid] = f"p{n}@example.com"
            if n % 3 == 0:
                unsubscribed.add(cid)
    path = tmp_path / "property.csv"

    @settings(max_examples=50, deadline=None)
    @given(st.lists(st.sampled_from([*emails, 9_999]), max_size=40))
    def check(chosen: list[int]) -> None:
        with read_session(engine) as session:
            written = export_audience_csv(session, contact_ids=chosen, path=path)
        exported = [row[0] for row in read_csv(path)[1:]]
        assert not set(exported) & {emails[cid] for cid in unsubscribed}
        expected = sorted({cid for cid in chosen if cid in emails and cid not in unsubscribed})
        assert exported == [emails[cid] for cid in expected] and written == len(expected)

    check()
