"""The demo's notes: competitor moves, research and a brief for the research specialist."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session

from workspace.notes import NoteKind, add_note

DEMO_NOTES: tuple[tuple[NoteKind, str, str], ...] = (
    (
        "competitor",
        "Summit Supply spring sale",
        "Summit Supply ran 30% off trail running shoes for two weeks in March, by email and "
        "Instagram. Their lapsed-customer email led with free returns, not the discount.",
    ),
    (
        "competitor",
        "Ridgeline Co. loyalty programme",
        "Ridgeline launched points for repeat buyers; VIP customers get early access to new "
        "jackets. Worth watching for our winback and launch timing.",
    ),
    (
        "research",
        "Winback survey, October",
        "Lapsed customers said they left because of sizing and shipping costs. A free-exchange "
        "message tested better than a discount in interviews.",
    ),
    (
        "research",
        "SMS opt-in trends",
        "SMS consent grows fastest among customers under 35; they prefer short texts and "
        "dislike more than two texts a week.",
    ),
    (
        "brief",
        "Holiday plan notes",
        "Keep holiday promotions within the email budget; no sends on Sundays; launch the new "
        "rain shell collection to active customers first.",
    ),
)
"""A few notes so the research specialist has something to search in the demo."""


def add_demo_notes(session: Session, *, today: date) -> None:
    """Store DEMO_NOTES as written two weeks before today (source "demo")."""
    for kind, title, body in DEMO_NOTES:
        noted = datetime.combine(today - timedelta(days=14), time(9), tzinfo=UTC)
        add_note(session, kind=kind, title=title, body=body, now=noted, source="demo")
