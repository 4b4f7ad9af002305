"""Building table objects from values the code itself made or the database returned.

A table model's constructor sets each field through SQLModel's `__setattr__`, which goes
through SQLAlchemy's attribute instrumentation and pydantic's, per field; for a row Baton
built from its own values or read back from its own tables that buys nothing (table models
do not validate). `new_row` makes the same object (field defaults filled, SQLAlchemy state
attached, transient) by writing its fields straight into the instance, about ten times
cheaper. `persistent_row` makes an object of a row just read, attached to the session as
if the ORM had loaded it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy import select as sa_select
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlmodel import Session, SQLModel

from db.engine import core_connection

M = TypeVar("M", bound=SQLModel)

_Default = tuple[str, Any, bool]
"""A field's name, its default (or default factory) and whether it is a factory."""

_Shape = tuple[tuple[str, ...], tuple[_Default, ...], frozenset[str]]
_SHAPES: dict[type[SQLModel], _Shape] = {}


def _shape(model: type[SQLModel]) -> _Shape:
    """The model's field names in order, its optional fields with their defaults, and its
    required fields."""
    shape = _SHAPES.get(model)
    if shape is None:
        _configured(model)
        defaults: list[_Default] = []
        required: set[str] = set()
        for name, info in model.model_fields.items():
            if info.is_required():
                required.add(name)
            elif info.default_factory is not None:
                defaults.append((name, info.default_factory, True))
            else:
                defaults.append((name, info.default, False))
        names = tuple(model.model_fields)
        shape = _SHAPES[model] = (names, tuple(defaults), frozenset(required))
    return shape


def new_row(model: type[M], /, **values: Any) -> M:
    """`model(**values)` for a table model, without the per-field instrumentation.

    The values are trusted: the caller built them (as the constructor would take them).
    """
    names, defaults, required = _shape(model)
    if not required <= values.keys():
        missing = ", ".join(sorted(required - values.keys()))
        raise TypeError(f"{model.__name__} needs {missing}")
    row: M = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    fields = row.__dict__
    for name in names:  # in the constructor's order: the values given, then the defaults
        if name in values:
            fields[name] = values[name]
    for name, default, factory in defaults:
        if name not in values:
            fields[name] = default() if factory else default
    object.__setattr__(row, "__pydantic_fields_set__", set(values))
    return row


def loaded_row(model: type[M], values: dict[str, Any]) -> M:
    """An object of a row as read (`values`: every column), as the ORM would load it but
    apart from any session: a read-only copy."""
    if model not in _CONFIGURED:
        _configured(model)
    row: M = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    row.__dict__.update(values)
    return row


def persistent_row(session: Session, model: type[M], values: dict[str, Any]) -> M:
    """The session's object for this row: the one it already holds (as a query would give
    it), else a new one with these values (every column), attached as loaded and unchanged:
    what the transaction changes on it is written at the next flush."""
    key = session.identity_key(model, values[_primary_key(model)])
    held = session.identity_map.get(key)
    if held is not None:
        return held
    row = loaded_row(model, values)
    make_transient_to_detached(row)
    session.add(row)
    return row


def select_rows(model: type[SQLModel]) -> Select[Any]:
    """A Core select of every column of the model's table, for `persistent_rows`."""
    return sa_select(*model.__table__.columns)  # type: ignore[attr-defined]


def persistent_rows(
    session: Session, model: type[M], statement: Select[Any], params: dict[str, Any] | None = None
) -> list[M]:
    """What `session.exec(select(model)...)` gives for a `select_rows(model)...` statement:
    the session's objects of the rows found, without the ORM's per-query machinery."""
    keys = tuple(c.key for c in model.__table__.columns)  # type: ignore[attr-defined]
    rows = core_connection(session).execute(statement, params or {})
    return [persistent_row(session, model, dict(zip(keys, row, strict=True))) for row in rows]


_CONFIGURED: set[type[SQLModel]] = set()


def _configured(model: type[SQLModel]) -> None:
    """Set up the mappers, as a model's constructor or a query would before the first object
    (until then an object's attributes cannot be read)."""
    configure_mappers()
    _CONFIGURED.add(model)


_KEYS: dict[type[SQLModel], str] = {}


def _primary_key(model: type[SQLModel]) -> str:
    key = _KEYS.get(model)
    if key is None:
        (column,) = model.__table__.primary_key.columns  # type: ignore[attr-defined]
        key = _KEYS[model] = column.key
    return key
