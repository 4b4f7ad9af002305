"""Notes: store research, competitor and brief notes (searching them is `tools.notes`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlmodel import Session

from db.workspace_models import Note

NoteKind = Literal["competitor", "brief", "research", "other"]
NOTE_KINDS: tuple[NoteKind, ...] = ("competitor", "brief", "research", "other")


def add_note(
    session: Session, *, kind: NoteKind, title: str, body: str, now: datetime, source: str = ""
) -> int:
    """Store a note (the FTS index follows by trigger) and return its id."""
    if kind not in NOTE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(NOTE_KINDS)}")
    if not title.strip():
        raise ValueError("a note needs a title")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    note = Note(kind=kind, title=title.strip(), body=body, created_at=now, source=source)
    session.add(note)
    session.flush()
    assert note.id is not None
    return note.id
