"""The workspace's data version: writers bump it, derived data (rollups, caches) compares it."""

from __future__ import annotations

import secrets

from sqlmodel import Session

from db.models import Meta

VERSION_KEY = "workspace_version"


def touch_workspace(session: Session) -> str:
    """Record that contacts, events or spend changed; call in the writing transaction."""
    version = secrets.token_hex(8)
    session.merge(Meta(key=VERSION_KEY, value=version))
    return version


def workspace_version(session: Session) -> str:
    """The current data version ("" for a workspace never written through Baton)."""
    row = session.get(Meta, VERSION_KEY)
    return row.value if row else ""
