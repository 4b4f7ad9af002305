"""CSV import: the formats round-trip, bad files change nothing, demo data is replaced."""

from __future__ import annotations

import csv
import hashlib
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from db.engine import make_engine, read_session, write_session
from db.execution_models import Delivery
from db.models import Meta
from db.schema import migrate
from db.workspace_models import ConsentChange, Contact, Event, Note, SegmentMember, Spend
from tests.support.workspace import NOW, TODAY, add_action
from workspace import importer
from workspace.demo import generate_demo_workspace
from workspace.importer import (
    COLUMNS,
    FIELDS,
    ImportKind,
    ImportRefused,
    ImportReport,
    import_csv,
    staging,
)

CONTACT_HEADER = list(COLUMNS["contacts"])
EVENT_HEADER = list(COLUMNS["events"])
SPEND_HEADER = list(COLUMNS["spend"])


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'workspace.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run_import(engine: Engine, kind: ImportKind, path: Path, **options: Any) -> ImportReport:
    """Import the way the service does: in one write transaction, rolled back on refusal."""
    with write_session(engine) as session:
        return import_csv(session, kind, path, now=NOW, **options)


def refusal(engine: Engine, kind: ImportKind, path: Path) -> ImportRefused:
    with pytest.raises(ImportRefused) as caught:
        run_import(engine, kind, path)
    return caught.value


def digest(engine: Engine) -> tuple[dict[str, int], str]:
    """Row counts and a hash of every row of every table."""
    counts: dict[str, int] = {}
    h = hashlib.sha256()
    with read_session(engine) as session:
        conn = session.connection()
        tables = conn.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ).scalars()
        for table in list(tables):
            rows = conn.execute(text(f'SELECT * FROM "{table}" ORDER BY 1')).all()
            counts[table] = len(rows)
            for row in rows:
                h.update(repr((table, *row)).encode())
    return counts, h.hexdigest()


def contacts_by_email(engine: Engine) -> dict[str, Contact]:
    with read_session(engine) as session:
        return {c.email: c for c in session.exec(select(Contact)).all()}


def meta(engine: Engine, key: str) -> str | None:
    with read_session(engine) as session:
        row = session.get(Meta, key)
        return row.value if row else None


def contact_rows(count: int, *, start: int = 0) -> list[list[str]]:
    return [[f"person{i}@example.com", f"P{i}"] for i in range(start, start + count)]


# --- round trips ---------------------------------------------------------------------


def test_contacts_round_trip_every_column(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "contacts.csv",
        [*CONTACT_HEADER, "Loyalty Tier", "favourite"],
        [
            [" Ann.Lee@Example.COM ", "Ann", "Lee", "+15550001", "US", "Americas",
             "America/New_York", "2026-01-02T10:30:00-05:00", "Yes", "no", "TRUE", "n",
             "120.50", "3", "2026-10-01", "gold", "boots"],
            ["bob@example.com", "Bob", "", "", "GB", "Europe", "", "2025-06-01 08:00:00",
             "1", "y", "f", "", "", "", "2026-11-01T09:15:30.250000+00:00", "", ""],
            ["cy@example.com", "", "", "", "", "", "Europe/Paris", "", "", "", "", "true",
             "0", "0", "", "silver", ""],
        ],
    )  # fmt: skip
    before = meta(engine, "workspace_version")

    report = run_import(engine, "contacts", path)

    assert report == ImportReport(
        kind="contacts",
        file="contacts.csv",
        rows=3,
        inserted=3,
        updated=0,
        duplicates_merged=0,
        consent_changes=4,  # Ann: email and push; Bob: email and sms
        replaced_demo=False,
        attributes=["Loyalty Tier", "favourite"],
    )
    stored = contacts_by_email(engine)
    ann, bob, cy = (
        stored["ann.lee@example.com"],
        stored["bob@example.com"],
        stored["cy@example.com"],
    )
    assert (ann.first_name, ann.last_name, ann.phone, ann.country, ann.region, ann.timezone) == (
        "Ann", "Lee", "+15550001", "US", "Americas", "America/New_York"
    )  # fmt: skip
    assert ann.created_at == datetime(2026, 1, 2, 15, 30, tzinfo=UTC)  # offset converted
    assert (ann.email_consent, ann.sms_consent, ann.push_consent, ann.unsubscribed) == (
        True, False, True, False
    )  # fmt: skip
    assert (ann.lifetime_value, ann.orders) == (120.5, 3)
    assert ann.last_purchase_at == datetime(2026, 10, 1, tzinfo=UTC)  # a date is midnight UTC
    assert ann.attributes == {"Loyalty Tier": "gold", "favourite": "boots"}
    assert not ann.bounced

    assert bob.phone is None and bob.timezone == "UTC"
    assert bob.created_at == datetime(2025, 6, 1, 8, tzinfo=UTC)  # no offset means UTC
    assert bob.last_purchase_at == datetime(2026, 11, 1, 9, 15, 30, 250000, tzinfo=UTC)
    assert (bob.email_consent, bob.sms_consent, bob.push_consent) == (True, True, False)
    assert (bob.lifetime_value, bob.orders, bob.attributes) == (0.0, 0, {})

    assert cy.created_at == NOW  # blank created_at: the import's time
    assert cy.unsubscribed and cy.timezone == "Europe/Paris"
    assert cy.attributes == {"Loyalty Tier": "silver"}

    assert meta(engine, "workspace_source") == "import"
    assert meta(engine, "workspace_version") not in (None, before)


def test_only_an_email_column_gives_defaults(engine: Engine, tmp_path: Path) -> None:
    report = run_import(engine, "contacts", write_csv(tmp_path / "c.csv", ["EMAIL"], [["a@b.co"]]))
    assert (report.inserted, report.consent_changes) == (1, 0)
    contact = contacts_by_email(engine)["a@b.co"]
    assert (contact.first_name, contact.phone, contact.timezone, contact.created_at) == (
        "", None, "UTC", NOW
    )  # fmt: skip
    assert not (contact.email_consent or contact.sms_consent or contact.unsubscribed)


def test_events_round_trip_and_update_their_contacts(engine: Engine, tmp_path: Path) -> None:
    contacts = [
        ["ann@example.com", "", "", "", "", "", "", "2025-01-01", "yes", "yes", "", "",
         "100", "2", "2026-12-01", ],
        ["bob@example.com", "", "", "", "", "", "", "2025-01-01", "yes", "", "", "", "", "",
         "", ],
    ]  # fmt: skip
    run_import(engine, "contacts", write_csv(tmp_path / "contacts.csv", CONTACT_HEADER, contacts))
    events = [
        ["ANN@example.com", "email", "send", "spring", "A", "2026-03-01T09:00:00Z", ""],
        ["ann@example.com", "Email", "Open", "spring", "A", "2026-03-01T10:00:00+01:00", ""],
        ["ann@example.com", "email", "click", "spring", "A", "2026-03-01 09:30:00", "0"],
        ["ann@example.com", "email", "purchase", "spring", "A", "2026-03-02", "40.25"],
        ["ann@example.com", "web", "purchase", "", "", "2026-04-02", "9.75"],
        ["bob@example.com", "sms", "bounce", "flash", "", "2026-03-01", ""],
        ["bob@example.com", "email", "purchase", "spring", "", "2026-05-01T12:00:00Z", "10"],
        ["bob@example.com", "sms", "unsubscribe", "flash", "", "2026-05-02", ""],
    ]
    report = run_import(engine, "events", write_csv(tmp_path / "events.csv", EVENT_HEADER, events))
    assert (report.rows, report.inserted, report.updated, report.duplicates_merged) == (8, 8, 0, 0)

    with read_session(engine) as session:
        stored = session.exec(select(Event).order_by(col(Event.id))).all()
    assert [(e.channel, e.event, e.campaign, e.variant) for e in stored[:2]] == [
        ("email", "send", "spring", "A"),
        ("email", "open", "spring", "A"),
    ]
    assert stored[1].occurred_at == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert stored[3].revenue == 40.25

    people = contacts_by_email(engine)
    ann, bob = people["ann@example.com"], people["bob@example.com"]
    # Purchases add to the stored totals; last_purchase_at only ever moves forward.
    assert (ann.orders, ann.lifetime_value) == (4, 150.0)
    assert ann.last_purchase_at == datetime(2026, 12, 1, tzinfo=UTC)
    assert (bob.orders, bob.lifetime_value) == (1, 10.0)
    assert bob.last_purchase_at == datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert bob.unsubscribed and not ann.unsubscribed
    assert not bob.bounced  # only an email bounce marks the address bounced

    bounce = write_csv(
        tmp_path / "bounce.csv", EVENT_HEADER, [["bob@example.com", "email", "bounce", "", "",
                                                 "2026-06-01", ""]]
    )  # fmt: skip
    run_import(engine, "events", bounce)
    assert contacts_by_email(engine)["bob@example.com"].bounced


def test_importing_the_same_events_twice_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    run_import(engine, "contacts", write_csv(tmp_path / "c.csv", ["email"], [["a@b.co"]]))
    rows = [
        ["a@b.co", "email", "purchase", "c", "", "2026-01-01", "5"],
        ["a@b.co", "email", "purchase", "c", "", "2026-01-01", "5"],  # same again
        ["a@b.co", "email", "purchase", "c", "", "2026-01-02", "5"],
    ]
    path = write_csv(tmp_path / "events.csv", EVENT_HEADER, rows)
    first = run_import(engine, "events", path)
    second = run_import(engine, "events", path)
    assert (first.inserted, first.duplicates_merged) == (2, 1)
    assert (second.inserted, second.duplicates_merged) == (0, 3)
    contact = contacts_by_email(engine)["a@b.co"]
    assert (contact.orders, contact.lifetime_value) == (2, 10.0)


def test_spend_round_trip_and_replace_by_day_channel_campaign(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [
        ["2026-11-01", "search", "brand", "12.50"],
        ["2026-11-01", "Social", "", "3"],
        ["2026-11-02", "search", "brand", "10"],
        ["2026-11-01", "search", "brand", "15"],  # later row wins
    ]
    first = run_import(engine, "spend", write_csv(tmp_path / "spend.csv", SPEND_HEADER, rows))
    assert (first.rows, first.inserted, first.updated, first.duplicates_merged) == (4, 3, 0, 1)
    again = [["2026-11-02", "search", "brand", "11"], ["2026-11-03", "email", "x", "0"]]
    second = run_import(engine, "spend", write_csv(tmp_path / "more.csv", SPEND_HEADER, again))
    assert (second.inserted, second.updated) == (1, 1)
    with read_session(engine) as session:
        stored = session.exec(select(Spend).order_by(col(Spend.date), col(Spend.channel))).all()
    assert [(str(s.date), s.channel, s.campaign, s.spend) for s in stored] == [
        ("2026-11-01", "search", "brand", 15.0),
        ("2026-11-01", "social", "", 3.0),
        ("2026-11-02", "search", "brand", 11.0),
        ("2026-11-03", "email", "x", 0.0),
    ]


def test_extra_event_columns_are_ignored_and_reported(engine: Engine, tmp_path: Path) -> None:
    run_import(engine, "contacts", write_csv(tmp_path / "c.csv", ["email"], [["a@b.co"]]))
    path = write_csv(
        tmp_path / "events.csv",
        ["occurred_at", "event", "channel", "email", "source_id"],
        [["2026-01-01", "open", "email", "a@b.co", "x1"]],
    )
    report = run_import(engine, "events", path)
    assert (report.inserted, report.ignored_columns) == (1, ["source_id"])


# --- updates, duplicates and consent history --------------------------------------------


def test_stored_contact_is_updated_only_where_the_file_says(engine: Engine, tmp_path: Path) -> None:
    full = [["a@b.co", "Ann", "Lee", "+1555", "US", "Americas", "America/Chicago",
             "2024-05-05", "yes", "yes", "no", "no", "50", "1", "2026-01-01", "gold"]]  # fmt: skip
    run_import(engine, "contacts", write_csv(tmp_path / "a.csv", [*CONTACT_HEADER, "tier"], full))
    partial = [["A@B.CO", "Annie", "", "vip"]]
    report = run_import(
        engine,
        "contacts",
        write_csv(tmp_path / "b.csv", ["email", "first_name", "created_at", "segment"], partial),
    )
    assert (report.inserted, report.updated, report.consent_changes) == (0, 1, 0)
    ann = contacts_by_email(engine)["a@b.co"]
    assert (ann.first_name, ann.last_name, ann.phone, ann.timezone) == (
        "Annie", "Lee", "+1555", "America/Chicago"
    )  # fmt: skip
    assert ann.created_at == datetime(2024, 5, 5, tzinfo=UTC)  # blank kept the stored date
    assert ann.sms_consent and ann.lifetime_value == 50.0
    assert ann.attributes == {"tier": "gold", "segment": "vip"}


def test_duplicate_emails_are_merged_later_rows_win(engine: Engine, tmp_path: Path) -> None:
    header = ["email", "first_name", "sms_consent", "created_at", "tier", "city"]
    rows = [
        ["ann@example.com", "Ann", "yes", "2025-01-01", "gold", "Oslo"],
        ["bob@example.com", "Bob", "no", "", "", ""],
        ["ANN@example.com ", "Annie", "no", "", "silver", ""],
        ["cy@example.com", "Cy", "no", "", "", ""],
        ["ann@example.com", "Anna", "no", "", "", ""],
    ]
    report = run_import(engine, "contacts", write_csv(tmp_path / "c.csv", header, rows))
    assert (report.rows, report.inserted, report.updated, report.duplicates_merged) == (5, 3, 0, 2)
    stored = contacts_by_email(engine)
    assert len(stored) == 3
    ann = stored["ann@example.com"]
    assert (ann.first_name, ann.sms_consent) == ("Anna", False)
    assert ann.created_at == datetime(2025, 1, 1, tzinfo=UTC)
    assert ann.attributes == {"tier": "silver", "city": "Oslo"}
    # Contacts are numbered in the order the file first mentions them.
    assert [stored[e].id for e in ("ann@example.com", "bob@example.com", "cy@example.com")] == [
        1, 2, 3
    ]  # fmt: skip


def test_consent_changes_are_appended_never_overwritten(engine: Engine, tmp_path: Path) -> None:
    header = ["email", "email_consent", "sms_consent"]
    first = run_import(
        engine, "contacts", write_csv(tmp_path / "contacts.csv", header, [["a@b.co", "yes", "yes"]])
    )
    second = run_import(
        engine, "contacts", write_csv(tmp_path / "contacts.csv", header, [["a@b.co", "yes", "no"]])
    )
    third = run_import(
        engine, "contacts", write_csv(tmp_path / "again.csv", ["email"], [["a@b.co"]])
    )
    assert (first.consent_changes, second.consent_changes, third.consent_changes) == (2, 1, 0)
    with read_session(engine) as session:
        changes = session.exec(select(ConsentChange).order_by(col(ConsentChange.id))).all()
    sms = [(c.granted, c.at, c.source) for c in changes if c.channel == "sms"]
    assert sms == [(True, NOW, "import:contacts.csv"), (False, NOW, "import:contacts.csv")]
    assert [c.granted for c in changes if c.channel == "email"] == [True]
    assert {c.contact_id for c in changes} == {contacts_by_email(engine)["a@b.co"].id}


def test_objects_in_the_callers_session_see_the_import(engine: Engine, tmp_path: Path) -> None:
    run_import(engine, "contacts", write_csv(tmp_path / "a.csv", ["email", "first_name"],
                                             [["a@b.co", "Ann"]]))  # fmt: skip
    path = write_csv(tmp_path / "b.csv", ["email", "first_name"], [["a@b.co", "Annie"]])
    with write_session(engine) as session:
        contact = session.exec(select(Contact)).one()
        import_csv(session, "contacts", path, now=NOW)
        assert contact.first_name == "Annie"


# --- demo data ---------------------------------------------------------------------------


def demo_workspace(engine: Engine) -> int:
    """A small demo workspace plus rows that hang off demo contacts; returns a contact id."""
    with write_session(engine) as session:
        generate_demo_workspace(session, contacts=300, seed=3, today=TODAY)
        contact_id = session.exec(select(Contact.id)).first()
        assert contact_id is not None
        action_id = add_action(session)
        session.add(SegmentMember(action_id=action_id, contact_id=contact_id))
        session.add(
            Delivery(
                idempotency_key="k1",
                action_id=action_id,
                contact_id=contact_id,
                channel="email",
                connector="shadow",
                status="queued",
                created_at=NOW,
            )
        )
        session.add(
            ConsentChange(contact_id=contact_id, channel="sms", granted=True, at=NOW, source="demo")
        )
        session.add(Note(title="Demo note", body="made up", created_at=NOW, source="demo"))
        session.add(Note(title="My note", body="real", created_at=NOW, source="user"))
    return contact_id


def count(engine: Engine, model: type[Any]) -> int:
    with read_session(engine) as session:
        return len(session.exec(select(model)).all())


def test_importing_contacts_replaces_the_demo_workspace(engine: Engine, tmp_path: Path) -> None:
    demo_workspace(engine)
    assert meta(engine, "workspace_source") == "demo"
    path = write_csv(tmp_path / "contacts.csv", ["email", "first_name"], contact_rows(5))

    report = run_import(engine, "contacts", path)

    assert report.replaced_demo and report.inserted == 5
    assert count(engine, Contact) == 5
    assert count(engine, Event) == count(engine, Spend) == count(engine, SegmentMember) == 0
    assert count(engine, Delivery) == count(engine, ConsentChange) == 0
    with read_session(engine) as session:
        assert [n.title for n in session.exec(select(Note)).all()] == ["My note"]
    assert meta(engine, "workspace_source") == "import"
    assert meta(engine, "demo_seed") is None

    again = run_import(engine, "contacts", path)
    assert not again.replaced_demo and again.updated == 5


def test_importing_spend_into_a_demo_workspace_replaces_it(engine: Engine, tmp_path: Path) -> None:
    demo_workspace(engine)
    path = write_csv(tmp_path / "spend.csv", SPEND_HEADER, [["2026-11-01", "search", "", "5"]])
    report = run_import(engine, "spend", path)
    assert report.replaced_demo
    assert count(engine, Contact) == 0 and count(engine, Spend) == 1


def test_events_into_a_demo_workspace_are_refused_until_contacts_come(
    engine: Engine, tmp_path: Path
) -> None:
    demo_workspace(engine)
    with read_session(engine) as session:
        demo_emails = session.exec(select(Contact.email).limit(3)).all()
    rows = [[email, "email", "open", "", "", "2026-11-01", ""] for email in demo_emails]
    path = write_csv(tmp_path / "events.csv", EVENT_HEADER, rows)
    before = digest(engine)

    error = refusal(engine, "events", path)

    assert digest(engine) == before
    assert str(error).startswith("events.csv was not imported: 3 rows have errors")
    assert [e.row for e in error.errors] == [2, 3, 4]
    assert all(e.column == "email" for e in error.errors)
    assert "no contact with this email" in error.errors[0].message
    assert "import your contacts first" in error.errors[0].message


# --- refusals ----------------------------------------------------------------------------


def test_a_bad_date_in_row_7_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    first = write_csv(tmp_path / "first.csv", ["email", "first_name"], contact_rows(3))
    run_import(engine, "contacts", first)
    rows = [[f"new{i}@example.com", "2026-01-01"] for i in range(10)]
    rows[5][1] = "2026-13-01"  # data row 6 is spreadsheet row 7
    rows[1][0] = "person0@example.com"  # an update that must not happen either
    path = write_csv(tmp_path / "contacts.csv", ["email", "created_at"], rows)
    before = digest(engine)

    error = refusal(engine, "contacts", path)

    assert digest(engine) == before
    assert str(error) == (
        "contacts.csv was not imported: 1 row has errors (nothing was changed).\n"
        "Row 7, column created_at: '2026-13-01' is not an ISO 8601 date or timestamp."
    )
    assert [(e.row, e.column) for e in error.errors] == [(7, "created_at")]
    # The session and its connection are still usable: the next good import works.
    rows[5][1] = "2026-12-01"
    path = write_csv(tmp_path / "contacts.csv", ["email", "created_at"], rows)
    assert run_import(engine, "contacts", path).inserted == 9


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty (a header row is required)"),
        (b"\xef\xbb\xbf\r\n", "the file is empty (a header row is required)"),
        (b"ann@example.com,Ann\nbob@example.com,Bob\n", "the header (row 1) has no email column"),
        (b"first_name,last_name\nAnn,Lee\n", "the header (row 1) has no email column"),
        (
            b"email;first_name\nann@example.com;Ann\n",
            "the header (row 1) has no email column; "
            "the file seems to be separated by semicolons, not commas",
        ),
        (b"email\n", "the file has a header row but no data rows"),
        (b"email,Email\na@b.co,a@b.co\n", "the header (row 1) has the column 'Email' twice"),
        (
            b"\x00\x01\x02binary\xff\xfe junk\x00" * 40,
            "it is not CSV text (it contains binary data)",
        ),
        (
            b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)),
            "it is a zip or Excel file, not CSV text (export it as CSV UTF-8)",
        ),
        (
            b"email,first_name\na@b.co,Zo\xeb\n",
            "it is not UTF-8 text (line 2); save it as CSV UTF-8 and try again",
        ),
        (b'email,first_name\na@b.co,"Ann\n', "line 2 is not valid CSV (unexpected end of data)"),
        (b'email,first_name\na@b.co,"Ann"e\n', "line 2 is not valid CSV (',' expected after '\"')"),
    ],
)
def test_malformed_files_are_refused_in_one_sentence(
    engine: Engine, tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(content)
    before = digest(engine)
    error = refusal(engine, "contacts", path)
    assert str(error) == f"contacts.csv was not imported: {reason} (nothing was changed)."
    assert "\n" not in str(error)
    assert digest(engine) == before


def test_missing_required_columns_are_named(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "events.csv", ["email", "event"], [["a@b.co", "open"]])
    error = refusal(engine, "events", path)
    assert error.reason == "the header (row 1) has no channel and occurred_at columns"
    assert [(e.row, e.column) for e in error.errors] == [(1, "channel")]


def test_a_missing_file_and_an_unknown_kind_are_refused(engine: Engine, tmp_path: Path) -> None:
    missing = refusal(engine, "contacts", tmp_path / "nope.csv")
    assert str(missing).startswith("nope.csv was not imported: it could not be read (")
    path = write_csv(tmp_path / "x.csv", ["email"], [["a@b.co"]])
    unknown = refusal(engine, "orders", path)  # type: ignore[arg-type]
    assert str(unknown) == (
        "x.csv was not imported: 'orders' is not something Baton imports "
        "(contacts, events or spend) (nothing was changed)."
    )


@pytest.mark.parametrize(
    ("kind", "header", "row", "column", "message"),
    [
        ("contacts", ["email"], ["ann"], "email", "'ann' is not an email address"),
        ("contacts", ["email"], ["a@b"], "email", "'a@b' is not an email address"),
        ("contacts", ["email", "x"], ["", "1"], "email", "is blank; every row needs an email"),
        (
            "contacts",
            ["email", "sms_consent"],
            ["a@b.co", "maybe"],
            "sms_consent",
            "'maybe' is not true/false, yes/no, 1/0 or y/n",
        ),
        (
            "contacts",
            ["email", "timezone"],
            ["a@b.co", "Mars/Base"],
            "timezone",
            "'Mars/Base' is not an IANA time zone (like Europe/Paris)",
        ),
        ("contacts", ["email", "orders"], ["a@b.co", "2.5"], "orders",
         "'2.5' is not a whole number"),
        ("contacts", ["email", "orders"], ["a@b.co", "-1"], "orders", "'-1' must be zero or more"),
        (
            "contacts",
            ["email", "lifetime_value"],
            ["a@b.co", "$5"],
            "lifetime_value",
            "'$5' is not a number",
        ),
        ("contacts", ["email", "first_name"], ["a@b.co"], None,
         "has 1 values but the header has 2"),
        ("contacts", ["email", ""], ["a@b.co", "x"], None, "column 2 has a value but no name"),
        (
            "spend",
            SPEND_HEADER,
            ["2026-11-01", "tv", "", "5"],
            "channel",
            "'tv' is not a channel (email, sms, push, social, search, display, direct_mail, web)",
        ),
        ("spend", SPEND_HEADER, ["2026-11-01", "web", "", "-5"], "spend",
         "'-5' must be a number, zero or more"),
        ("spend", SPEND_HEADER, ["2026-11-01", "web", "", ""], "spend",
         "is blank; an amount is required"),
        ("spend", SPEND_HEADER, ["Nov 1", "web", "", "5"], "date",
         "'Nov 1' is not an ISO 8601 date (YYYY-MM-DD)"),
        ("events", EVENT_HEADER, ["a@b.co", "email", "like", "", "", "2026-01-01", ""], "event",
         "'like' is not a event (send, open, click, purchase, unsubscribe, bounce)"),
        ("events", EVENT_HEADER, ["a@b.co", "email", "open", "", "", "", ""], "occurred_at",
         "is blank; a date or timestamp is required"),
        ("events", EVENT_HEADER, ["a@b.co", "email", "purchase", "", "", "2026-01-01", "nan"],
         "revenue", "'nan' must be a number, zero or more"),
    ],
)  # fmt: skip
def test_each_bad_value_gets_a_clear_message(
    engine: Engine,
    tmp_path: Path,
    kind: ImportKind,
    header: list[str],
    row: list[str],
    column: str | None,
    message: str,
) -> None:
    run_import(engine, "contacts", write_csv(tmp_path / "c.csv", ["email"], [["a@b.co"]]))
    good = {"contacts": ["ok@b.co"], "spend": ["2026-11-02", "web", "", "1"]}.get(kind)
    if kind == "events":
        good = ["a@b.co", "email", "open", "", "", "2026-01-01", ""]
    assert good is not None
    rows = [good + [""] * (len(header) - len(good)), row]
    error = refusal(engine, kind, write_csv(tmp_path / f"{kind}.csv", header, rows))
    assert [(e.row, e.column, e.message) for e in error.errors] == [(3, column, message)]


def test_only_the_first_20_errors_are_listed_with_the_total(engine: Engine, tmp_path: Path) -> None:
    rows = [[f"p{i}@example.com", "soon"] for i in range(60)]
    for i in range(0, 60, 4):
        rows[i][1] = "2026-01-01"  # every fourth row is fine: 45 bad rows
    rows[1].append("surplus")  # and one row has two problems: a value too many
    rows[1][1] = "2026-01-01"
    rows[2].append("")  # a trailing empty cell is harmless, but its date is still bad
    error = refusal(
        engine, "contacts", write_csv(tmp_path / "c.csv", ["email", "created_at"], rows)
    )
    lines = str(error).splitlines()
    assert lines[0] == "c.csv was not imported: 45 rows have errors (nothing was changed)."
    assert lines[1] == "Row 3: has 3 values but the header has 2."
    assert lines[2] == "Row 4, column created_at: 'soon' is not an ISO 8601 date or timestamp."
    assert len(lines) == 1 + 20 + 1
    assert lines[-1] == "...and 25 more errors."
    assert error.error_count == len(error.errors) == 45
    assert [e.row for e in error.errors] == sorted(e.row for e in error.errors)


def test_errors_kept_are_capped_but_all_are_counted(engine: Engine, tmp_path: Path) -> None:
    rows = [[f"bad{i}", f"x{i}"] for i in range(1_500)]
    error = refusal(engine, "contacts", write_csv(tmp_path / "c.csv", ["email", "orders"], rows))
    assert error.error_count == 3_000 and len(error.errors) == importer.ERROR_CAP
    assert str(error).splitlines()[0].startswith("c.csv was not imported: 1,500 rows have errors")
    assert str(error).splitlines()[-1] == "...and 2,980 more errors."


# --- progress, speed paths and properties -----------------------------------------------


def test_progress_is_reported_while_reading(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staging, "PROGRESS_EVERY", 1_000)
    path = write_csv(tmp_path / "c.csv", ["email", "first_name"], contact_rows(3_600))
    calls: list[tuple[int, int]] = []
    run_import(engine, "contacts", path, progress=lambda done, total: calls.append((done, total)))
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert calls[0][1] == 3_600 and len(calls) >= 4
    assert calls[-1] == (3_600, 3_600)


def test_blank_lines_are_skipped_but_keep_row_numbers(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("email,orders\n\na@b.co,1\n,\nb@b.co,x\n", encoding="utf-8")
    error = refusal(engine, "contacts", path)
    assert [(e.row, e.column) for e in error.errors] == [(5, "orders")]
    path.write_text('email,note\r\n\r\na@b.co,"two\r\nlines"\r\n,\r\nb@b.co,\r\n', encoding="utf-8")
    report = run_import(engine, "contacts", path)
    assert (report.rows, report.inserted) == (2, 2)
    assert contacts_by_email(engine)["a@b.co"].attributes == {"note": "two\r\nlines"}


CELLS = st.one_of(
    st.sampled_from(
        ["", " ", "0", "1", "-1", "2.0", "1e3", "nan", "inf", "TRUE", "yes", "No", " y ", "T",
         "email", "Email", " sms", "open", "2026-01-02", "2026-02-30", " 2026-01-02",
         "2026-01-02T03:04:05Z", "2026-01-02 03:04:05", "2026-01-02T03:04:05+02:00",
         "2026-01-02T24:00:00", "2026-01-02T03:04:05.5", "20260102", "a@b.co", "A@B.CO ",
         "a@b", "UTC", "Europe/Paris", "europe/paris", "12.50", "1_000", "٣"]
    ),
    st.text(max_size=12),
)  # fmt: skip


@given(st.lists(CELLS, min_size=1, max_size=8))
@settings(max_examples=300, deadline=None)
def test_the_fast_column_parsers_agree_with_the_cell_parsers(cells: list[str]) -> None:
    for fields in FIELDS.values():
        for field in fields:
            try:
                fast = field.parse_all(cells)
            except Exception:
                continue  # the batch is then parsed cell by cell
            assert fast == [field.parse(cell) for cell in cells], field.column


EMAILS = (
    st.sampled_from([f"user{i}@example.com" for i in range(12)])
    .map(lambda email: st.sampled_from([email, email.upper(), f" {email}"]))
    .flatmap(lambda strategy: strategy)
)
CONTACT_ROWS = st.lists(
    st.tuples(
        EMAILS,
        st.sampled_from(["", "Ann", "Bob"]),
        st.sampled_from(["", "yes", "no", "TRUE", "0"]),
        st.sampled_from(["", "2025-01-01", "2025-02-03T04:05:06+01:00"]),
        st.sampled_from(["", "12.5", "0"]),
        st.sampled_from(["", "gold"]),
    ),
    min_size=1,
    max_size=30,
)


@given(st.lists(CONTACT_ROWS, min_size=1, max_size=3))
@settings(max_examples=25, deadline=None)
def test_any_valid_contacts_file_accounts_for_every_row(files: list[list[tuple[str, ...]]]) -> None:
    header = ["email", "first_name", "sms_consent", "created_at", "lifetime_value", "tier"]
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'w.db'}")
        migrate(engine)
        try:
            seen: set[str] = set()
            for number, rows in enumerate(files):
                path = write_csv(Path(folder) / f"c{number}.csv", header, rows)
                report = run_import(engine, "contacts", path)
                emails = {row[0].strip().lower() for row in rows}
                assert report.rows == len(rows)
                assert report.rows == report.inserted + report.updated + report.duplicates_merged
                assert report.inserted == len(emails - seen)
                assert report.updated == len(emails & seen)
                seen |= emails
                stored = contacts_by_email(engine)
                assert set(stored) == seen
                last_row = {row[0].strip().lower(): row for row in rows}
                for email, row in last_row.items():
                    assert stored[email].sms_consent == (row[2] in ("yes", "TRUE"))
            with read_session(engine) as session:
                sms_changes = session.exec(
                    select(ConsentChange.contact_id, ConsentChange.granted)
                    .where(ConsentChange.channel == "sms")
                    .order_by(col(ConsentChange.id))
                ).all()
            history: dict[int, bool] = {}
            for contact_id, granted in sms_changes:
                assert history.get(contact_id, False) != granted  # each row is a real change
                history[contact_id] = granted
            for contact in contacts_by_email(engine).values():
                assert contact.id is not None
                assert history.get(contact.id, False) == contact.sms_consent
        finally:
            engine.dispose()


def test_the_staging_tables_do_not_outlive_the_import(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", ["email"], [["a@b.co"], ["A@b.co"]])
    with write_session(engine) as session:
        import_csv(session, "contacts", path, now=NOW)
        temp = session.connection().exec_driver_sql("SELECT name FROM temp.sqlite_master")
        assert temp.all() == []
