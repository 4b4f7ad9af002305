"""One CSV cell, or a batch's whole column of cells, parsed and checked for staging."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from zoneinfo import available_timezones

MAX_EMAIL = 254

_EMAIL = re.compile(r"[^@\s,;<>()\[\]\"]+@[^@\s,;<>()\[\]\".]+(\.[^@\s,;<>()\[\]\".]+)+")
_PLAIN_TIMESTAMP = re.compile(
    r"(\d{4}-\d\d-\d\d)(?:[T ]((?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d)(?:Z|\+00:00)?)?"
)
"""A date, or a whole-second time in UTC or without an offset: the usual shapes, read fast."""
_BOOLS = {
    word: value
    for words, value in (("true yes y 1 t", 1), ("false no n 0 f", 0))
    for lower in words.split()
    for word in (lower, lower.upper(), lower.capitalize())
}
_BOOLS[""] = 0


# Each column has two parsers. The singular one takes one cell and raises InvalidCell
# saying what is wrong. The plural one takes a whole column of a batch and is fast; it
# raises (any exception) when some cell is not plainly valid, and the batch is then
# parsed again cell by cell. Where it succeeds it returns exactly what the singular
# one would.


class InvalidCell(Exception):
    """A cell's value is not acceptable; the message says why."""


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def text(cell: str) -> str:
    """The cell, trimmed."""
    return cell.strip()


def texts(cells: Sequence[str]) -> list[str]:
    """Each cell, trimmed."""
    return list(map(str.strip, cells))


def optional_text(cell: str) -> str | None:
    """The cell, trimmed, or None when blank."""
    return cell.strip() or None


def optional_texts(cells: Sequence[str]) -> list[str | None]:
    """Each cell, trimmed, or None when blank."""
    return [cell.strip() or None for cell in cells]


def email(cell: str) -> str:
    """A required email address, trimmed and lower-cased."""
    email = cell.strip().lower()
    if not email:
        raise InvalidCell("is blank; every row needs an email")
    if len(email) > MAX_EMAIL or _EMAIL.fullmatch(email) is None:
        raise InvalidCell(f"{_shown(cell)} is not an email address")
    return email


def emails(cells: Sequence[str]) -> list[str]:
    """A column of email addresses, trimmed and lower-cased."""
    emails = list(map(str.lower, map(str.strip, cells)))
    if not all(map(_EMAIL.fullmatch, emails)) or max(map(len, emails)) > MAX_EMAIL:
        raise InvalidCell("some email is not valid")
    return emails


def boolean(cell: str) -> int:
    """1 or 0 for true/false, yes/no, 1/0, y/n or t/f in any case; blank is 0."""
    value = _BOOLS.get(cell)
    if value is None:
        value = _BOOLS.get(cell.strip().lower())
        if value is None:
            raise InvalidCell(f"{_shown(cell)} is not true/false, yes/no, 1/0 or y/n")
    return value


def booleans(cells: Sequence[str]) -> list[int]:
    """A column of booleans, each untrimmed and in lower, upper or title case."""
    return list(map(_BOOLS.__getitem__, cells))


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def timezone(cell: str) -> str:
    """An IANA time zone name; blank is UTC."""
    zone = cell.strip() or "UTC"
    if zone not in _zones():
        raise InvalidCell(f"{_shown(cell)} is not an IANA time zone (like Europe/Paris)")
    return zone


def timezones(cells: Sequence[str]) -> list[str]:
    """A column of IANA time zone names; blank is UTC."""
    zones = [cell.strip() or "UTC" for cell in cells]
    if not _zones().issuperset(zones):
        raise InvalidCell("some time zone is not valid")
    return zones


def db_timestamp(moment: datetime) -> str:
    """The text SQLAlchemy stores for a datetime in SQLite: UTC, microseconds, no offset."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(" ", "microseconds")


def timestamp(cell: str) -> str | None:
    """An ISO 8601 date or timestamp as stored, or None when blank."""
    value = cell.strip()
    if not value:
        return None
    try:
        return db_timestamp(datetime.fromisoformat(value))
    except (ValueError, OverflowError):
        raise InvalidCell(f"{_shown(cell)} is not an ISO 8601 date or timestamp") from None


@lru_cache(maxsize=1 << 16)
def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def timestamps(cells: Sequence[str]) -> list[str | None]:
    """A column of ISO 8601 dates or timestamps as stored, None where blank."""
    plain = _PLAIN_TIMESTAMP.fullmatch
    parse = datetime.fromisoformat
    stamps: list[str | None] = []
    for cell in cells:
        if not cell:
            stamps.append(None)
            continue
        match = plain(cell)
        if match is not None and _is_date(match[1]):
            stamps.append(f"{match[1]} {match[2] or '00:00:00'}.000000")
            continue
        moment = parse(cell)
        if moment.tzinfo is not None:
            # An aware UTC time prints with "+00:00", which the first 26 characters drop.
            moment = moment.astimezone(UTC)
        stamps.append(moment.isoformat(" ", "microseconds")[:26])
    return stamps


def required_timestamp(cell: str) -> str:
    """An ISO 8601 date or timestamp as stored, which must not be blank."""
    value = timestamp(cell)
    if value is None:
        raise InvalidCell("is blank; a date or timestamp is required")
    return value


def required_timestamps(cells: Sequence[str]) -> list[str | None]:
    """A column of ISO 8601 dates or timestamps as stored, none of them blank."""
    stamps = timestamps(cells)
    if None in stamps:
        raise InvalidCell("some timestamp is blank")
    return stamps


def day(cell: str) -> str:
    """A required ISO 8601 date (YYYY-MM-DD)."""
    value = cell.strip()
    if not value:
        raise InvalidCell("is blank; a date is required")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidCell(f"{_shown(cell)} is not an ISO 8601 date (YYYY-MM-DD)") from None


def days(cells: Sequence[str]) -> list[str]:
    """A column of ISO 8601 dates (YYYY-MM-DD)."""
    parse = date.fromisoformat
    return [parse(cell).isoformat() for cell in cells]


def amount(cell: str) -> float:
    """A finite number, zero or more; blank is 0."""
    value = cell.strip()
    if not value:
        return 0.0
    try:
        amount = float(value)
    except ValueError:
        raise InvalidCell(f"{_shown(cell)} is not a number") from None
    if not math.isfinite(amount) or amount < 0:
        raise InvalidCell(f"{_shown(cell)} must be a number, zero or more")
    return amount


def _checked_amounts(amounts: list[float]) -> list[float]:
    if amounts and (min(amounts) < 0 or not all(map(math.isfinite, amounts))):
        raise InvalidCell("some amount is negative or not finite")
    return amounts


def amounts(cells: Sequence[str]) -> list[float]:
    """A column of finite numbers, zero or more; blank is 0."""
    return _checked_amounts([float(cell) if cell else 0.0 for cell in cells])


def required_amount(cell: str) -> float:
    """A finite number, zero or more, which must not be blank."""
    if not cell.strip():
        raise InvalidCell("is blank; an amount is required")
    return amount(cell)


def required_amounts(cells: Sequence[str]) -> list[float]:
    """A column of finite numbers, zero or more, none of them blank."""
    return _checked_amounts(list(map(float, cells)))


def count(cell: str) -> int:
    """A whole number, zero or more (written "2" or "2.0"); blank is 0."""
    value = cell.strip()
    if not value:
        return 0
    try:
        count = int(value)
    except ValueError:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not number.is_integer():
            raise InvalidCell(f"{_shown(cell)} is not a whole number") from None
        count = int(number)
    if count < 0:
        raise InvalidCell(f"{_shown(cell)} must be zero or more")
    return count


def counts(cells: Sequence[str]) -> list[int]:
    """A column of whole numbers, zero or more; blank is 0."""
    counts = [int(cell) if cell else 0 for cell in cells]
    if counts and min(counts) < 0:
        raise InvalidCell("some count is negative")
    return counts


def choice(
    options: tuple[str, ...], noun: str
) -> tuple[Callable[[str], str], Callable[[Sequence[str]], list[str]]]:
    """The cell and column parsers of a required value, one of `options` in any case."""
    allowed = frozenset(options)
    listed = ", ".join(options)

    def parse(cell: str) -> str:
        value = cell.strip().lower()
        if value in allowed:
            return value
        if not value:
            raise InvalidCell(f"is blank; a {noun} is required ({listed})")
        raise InvalidCell(f"{_shown(cell)} is not a {noun} ({listed})")

    def parse_all(cells: Sequence[str]) -> list[str]:
        if not allowed.issuperset(cells):
            raise InvalidCell(f"some {noun} is not valid")
        return list(cells)

    return parse, parse_all
