"""The demo's time axis: day indexes from a fixed origin, weekdays, UTC offsets, stored text."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

HISTORY_DAYS = 3 * 365
"""Contacts joined within this many days before today."""
EVENT_DAYS = 364
"""Events and spend cover this many days before today."""


class Timeline:
    """Days and seconds counted from UTC midnight `HISTORY_DAYS + 7` days before today.

    Times are whole seconds since that origin, formatted the way SQLAlchemy stores
    datetimes in SQLite only when a row is written.
    """

    def __init__(self, today: date, timezones: Iterable[str]) -> None:
        self.origin = today - timedelta(days=HISTORY_DAYS + 7)
        self.today_day = HISTORY_DAYS + 7
        self.today_s = self.today_day * 86_400
        self.window_day = self.today_day - EVENT_DAYS
        self.window_s = self.window_day * 86_400
        self.days = days = self.today_day + 8
        self.day_iso = [(self.origin + timedelta(days=d)).isoformat() for d in range(days)]
        self.day_prefix = [f"{text} " for text in self.day_iso]
        self.clock = _clock()
        self.weekdays = [(self.origin.weekday() + d) % 7 for d in range(days)]
        self.offsets = {zone: _utc_offsets(zone, self.origin, days) for zone in timezones}
        """Per timezone, the seconds it is ahead of UTC on each day."""

    def text(self, t: int) -> str:
        """Seconds since the origin as SQLite holds a UTC datetime: "YYYY-MM-DD HH:MM:SS.000000"."""
        day, second = divmod(t, 86_400)
        return self.day_prefix[day] + self.clock[second]

    def first_weekday(self, weekday: int) -> int:
        """The first day of the event window that falls on `weekday` (0 = Monday)."""
        day = self.window_day
        while self.weekdays[day] != weekday:
            day += 1
        return day


@cache
def _clock() -> tuple[str, ...]:
    """Every second of a day as SQLAlchemy writes it in SQLite: "HH:MM:SS.000000"."""
    return tuple(
        f"{h:02d}:{m:02d}:{s:02d}.000000" for h in range(24) for m in range(60) for s in range(60)
    )


@cache
def _utc_offsets(timezone: str, origin: date, days: int) -> tuple[int, ...]:
    """Seconds the zone is ahead of UTC at local noon on each day (daylight saving included)."""
    zone = ZoneInfo(timezone)
    offsets = []
    for n in range(days):
        d = origin + timedelta(days=n)
        delta = datetime(d.year, d.month, d.day, 12, tzinfo=zone).utcoffset()
        offsets.append(int(delta.total_seconds()) if delta is not None else 0)
    return tuple(offsets)
