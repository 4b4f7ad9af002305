"""The JSON column the table modules share."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field


def json_field(default: Any = None) -> Any:
    """A JSON column: nullable without a default, else NOT NULL with a fresh empty `default`."""
    factory = (lambda: type(default)()) if default is not None else None
    if factory is None:
        return Field(default=None, sa_column=Column(JSON, nullable=True))
    return Field(default_factory=factory, sa_column=Column(JSON, nullable=False))
