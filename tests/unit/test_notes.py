"""Notes search on a migrated database: relevance order, snippets and query sanitising."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.engine import make_engine, read_session, write_session
from db.schema import migrate
from db.search import fts_query
from tests.support.workspace import NOW
from tools.notes import search_notes
from workspace.notes import NoteKind, add_note

NOTES: list[tuple[NoteKind, str, str]] = [
    (
        "competitor",
        "Summit Supply pricing",
        "Summit cut tent prices by 15% for the winter sale and added free shipping.",
    ),
    (
        "research",
        "Weekly digest",
        "Email open rates dipped in October. Competitors shifted budget to social; "
        "Trailhead Goods started discounting boots.",
    ),
    ("brief", "Holiday campaign brief", "Reach lapsed customers with a gift guide in December."),
]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated database (with the note_fts index) holding NOTES, oldest first."""
    engine = make_engine(f"sqlite:///{tmp_path / 'notes.db'}")
    migrate(engine)
    with write_session(engine) as s:
        for n, (kind, title, body) in enumerate(NOTES):
            add_note(
                s, kind=kind, title=title, body=body, now=NOW + timedelta(hours=n), source="test"
            )
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with read_session(engine) as s:
        yield s


def test_add_note_returns_its_id(engine: Engine) -> None:
    with write_session(engine) as s:
        note_id = add_note(s, kind="other", title="Loose idea", body="Try push alerts", now=NOW)
    assert note_id == len(NOTES) + 1
    with read_session(engine) as s:
        hits = search_notes(s, "push")
    assert [(h.id, h.kind, h.title, h.created_at) for h in hits] == [
        (note_id, "other", "Loose idea", NOW)
    ]
    with write_session(engine) as s, pytest.raises(ValueError):
        add_note(s, kind="gossip", title="x", body="y", now=NOW)  # type: ignore[arg-type]


def test_search_ranks_by_relevance_with_a_snippet(session: Session) -> None:
    hits = search_notes(session, "Summit pricing")
    assert hits[0].title == "Summit Supply pricing" and len(hits) == 1
    assert "**Summit**" in hits[0].excerpt
    assert hits[0].score > 0 and hits[0].source == "test"


def test_stemming_and_any_word_matches(session: Session) -> None:
    # Porter stemming: "discounts" finds "discounting"; any word may match, more is better.
    assert [h.title for h in search_notes(session, "discounts")] == ["Weekly digest"]
    titles = [h.title for h in search_notes(session, "competitors lapsed customers")]
    assert titles == ["Holiday campaign brief", "Weekly digest"]


def test_title_matches_outrank_body_matches(engine: Engine) -> None:
    with write_session(engine) as s:
        add_note(s, kind="research", title="Boots", body="A note about gear in general.", now=NOW)
        add_note(s, kind="research", title="Gear", body="A note about boots in general.", now=NOW)
    with read_session(engine) as s:
        assert [h.title for h in search_notes(s, "boots")][:2] == ["Boots", "Gear"]


def test_fts_syntax_in_free_text_never_raises(session: Session) -> None:
    for query in ('"tent', "price AND (", "NEAR(tent", "tent*", "title:tent", "-tent"):
        assert [h.title for h in search_notes(session, query)] == ["Summit Supply pricing"]
    assert search_notes(session, "^ NOT ( OR") == []


def test_empty_queries_return_nothing(session: Session) -> None:
    assert search_notes(session, "") == []
    assert search_notes(session, "  ?!*()  ") == []
    assert fts_query('Tent "prices" tent') == '"tent" OR "prices"'
    with pytest.raises(ValueError):
        search_notes(session, "tent", limit=0)


def test_limit(session: Session) -> None:
    assert len(search_notes(session, "summit email reach", limit=2)) == 2


def test_any_text_is_a_safe_query(session: Session) -> None:
    @settings(max_examples=100, deadline=None)
    @given(st.text(max_size=60))
    def check(query: str) -> None:
        hits = search_notes(session, query)
        assert len(hits) <= 10

    check()
