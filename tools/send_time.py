"""Send timing: the local weekday and hour at which an audience opens best, and the next date."""

from __future__ import annotations

import hashlib
import json
from array import array
from collections import Counter
from datetime import date, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from db.dialect import char_sql, id_list_sql, string_agg_sql, utc_text
from db.rollups import SLOT_CODE_BASE
from tools.derived_cache import DerivedCache
from tools.members import SEGMENT_MEMBERS, segment_fingerprint
from workspace.rollups import rollup_connection, rollup_state

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FALLBACK_SLOT = (1, 10)
"""Tuesday 10:00 local: the conventional default when the data cannot pick a slot."""
ALTERNATIVES = 5


class SlotRate(BaseModel):
    """One local weekday/hour slot and its smoothed open rate."""

    weekday: int
    """0 = Monday."""
    weekday_name: str
    hour: int
    """0-23, in each contact's local time."""
    expected_open_rate: float
    sends: int
    opens: int


class SendTimeResult(BaseModel):
    """The best local send slot for an audience, with the evidence behind it."""

    channel: str
    send_weekday: int
    """0 = Monday."""
    send_hour_local: int
    weekday_name: str
    expected_open_rate: float
    """The winning slot's open rate, smoothed toward the global rate."""
    sample_sends: int
    """Sends observed in the winning slot."""
    global_open_rate: float
    total_sends: int
    lookback_days: int
    alternatives: list[SlotRate]
    """The next best eligible slots, best first."""
    fallback_reason: str | None = None
    """Why the default slot (Tuesday 10:00 local) was used; None when the data chose."""


def best_send_time(
    session: Session,
    *,
    contact_ids: list[int] | None,
    segment_action_id: str | None = None,
    channel: str = "email",
    now: datetime,
    lookback_days: int = 365,
    min_sample: int = 200,
    smoothing: float = 200.0,
) -> SendTimeResult:
    """Find the local weekday and hour with the best smoothed open rate for these contacts.

    Each send in the lookback window is placed in the contact's local weekday and
    hour (using the zone's UTC offset on the day of the send, so daylight saving is
    respected) and counts as opened if the contact opened that campaign. A slot's rate
    is (opens + smoothing * global) / (sends + smoothing); only slots with at least
    `min_sample` sends may win. The contacts are `contact_ids`, or the stored members of
    executed segment action `segment_action_id`; neither means every contact.

    Reads the send rollups; a repeat call with the same inputs on unchanged data is
    answered from a small in-process cache.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if lookback_days < 1:
        raise ValueError("lookback_days must be at least 1")
    if smoothing < 0 or min_sample < 0:
        raise ValueError("smoothing and min_sample must not be negative")
    start = now - timedelta(days=lookback_days)
    with rollup_connection(session) as conn:
        state = rollup_state(conn)
        key = (
            str(conn.engine.url),
            state.workspace_version,
            state.build,
            _audience_key(conn, contact_ids, segment_action_id),
            channel,
            utc_text(now),
            lookback_days,
            min_sample,
            smoothing,
        )
        cached = _RESULTS.get(key)
        if cached is not None:
            return cached.model_copy(deep=True)
        counts = _slot_counts(
            conn, contact_ids, channel, start, now, segment_action_id=segment_action_id
        )
    result = _choose(counts, channel, lookback_days, min_sample, smoothing)
    _RESULTS.put(key, result)
    return result.model_copy(deep=True)


def slot_rate(
    session: Session,
    *,
    contact_ids: list[int] | None,
    segment_action_id: str | None = None,
    channel: str = "email",
    now: datetime,
    weekday: int,
    hour: int,
    lookback_days: int = 365,
    smoothing: float = 200.0,
) -> SlotRate:
    """One local slot's smoothed open rate, by the formula `best_send_time` ranks slots with.

    Any slot has a rate, however few its sends: "why not Sunday at 18:00?" compares the
    chosen slot with one that may never have made the shortlist.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not (0 <= weekday <= 6 and 0 <= hour <= 23):
        raise ValueError("weekday must be 0-6 and hour 0-23")
    with rollup_connection(session) as conn:
        start = now - timedelta(days=lookback_days)
        counts = _slot_counts(
            conn, contact_ids, channel, start, now, segment_action_id=segment_action_id
        )
    total_sends = sum(sends for sends, _ in counts.values())
    global_rate = sum(opens for _, opens in counts.values()) / total_sends if total_sends else 0.0
    sends, opens = counts.get((weekday, hour), (0, 0))
    rate = (opens + smoothing * global_rate) / (sends + smoothing) if sends + smoothing else 0.0
    return SlotRate(
        weekday=weekday,
        weekday_name=WEEKDAY_NAMES[weekday],
        hour=hour,
        expected_open_rate=round(rate, 4),
        sends=sends,
        opens=opens,
    )


def _slot_counts(
    conn: Connection,
    contact_ids: list[int] | None,
    channel: str,
    start: datetime,
    now: datetime,
    *,
    segment_action_id: str | None = None,
) -> dict[tuple[int, int], tuple[int, int]]:
    """(weekday, hour) -> (sends, opens) over the window, from the send rollups.

    A contact whose sends all fall inside the window contributes its whole profile;
    the others contribute their sends inside the window, one by one. The database
    concatenates the codes and Python counts them: far cheaper than a GROUP BY sort.
    """
    params: dict[str, object] = {
        "channel": channel,
        "start": utc_text(start),
        "now": utc_text(now),
        "base": SLOT_CODE_BASE,
    }
    source = "rollup_send_profile p"
    if segment_action_id is not None:
        if contact_ids is not None:
            raise ValueError("give contact_ids or segment_action_id, not both")
        params["segment"] = segment_action_id
        source = f"{SEGMENT_MEMBERS} m JOIN rollup_send_profile p ON p.contact_id = m.id"
    elif contact_ids is not None:
        # One parameter carries the whole id list; duplicates must count once.
        ids = contact_ids if _distinct(contact_ids) else list(dict.fromkeys(contact_ids))
        params["ids"] = json.dumps(ids)
        source = f"{id_list_sql('ids', 'j')} JOIN rollup_send_profile p ON p.contact_id = j.value"
    window_codes = f"""
            CASE WHEN p.first_at >= :start AND p.last_at < :now THEN p.codes
            ELSE (SELECT {string_agg_sql(char_sql(":base + s.code"), "''")} FROM rollup_send_slot s
                  WHERE s.contact_id = p.contact_id AND s.occurred_at >= :start
                      AND s.occurred_at < :now AND s.channel = :channel
                      AND s.code IS NOT NULL)
            END"""
    codes = conn.execute(
        text(f"""
        SELECT {string_agg_sql(window_codes, "''")}
        FROM {source}
        WHERE p.channel = :channel AND p.last_at >= :start AND p.first_at < :now
        """),
        params,
    ).scalar_one()
    counts: dict[tuple[int, int], tuple[int, int]] = {}
    for char, n in Counter(codes or "").items():
        code = ord(char) - SLOT_CODE_BASE
        slot = divmod(code >> 1, 24)
        sends, opens = counts.get(slot, (0, 0))
        counts[slot] = (sends + n, opens + (n if code & 1 else 0))
    return counts


def _choose(
    counts: dict[tuple[int, int], tuple[int, int]],
    channel: str,
    lookback_days: int,
    min_sample: int,
    smoothing: float,
) -> SendTimeResult:
    """Rank the slots by smoothed open rate and pick the best one with enough sends."""
    total_sends = sum(sends for sends, _ in counts.values())
    total_opens = sum(opens for _, opens in counts.values())
    global_rate = total_opens / total_sends if total_sends else 0.0

    def rate(sends: int, opens: int) -> float:
        return (opens + smoothing * global_rate) / (sends + smoothing) if sends + smoothing else 0.0

    slots = [
        SlotRate(
            weekday=weekday,
            weekday_name=WEEKDAY_NAMES[weekday],
            hour=hour,
            expected_open_rate=round(rate(sends, opens), 4),
            sends=sends,
            opens=opens,
        )
        for (weekday, hour), (sends, opens) in counts.items()
    ]
    # Ties break toward more evidence, then the earlier slot, so the answer is stable.
    slots.sort(key=lambda s: (-rate(s.sends, s.opens), -s.sends, s.weekday, s.hour))
    eligible = [s for s in slots if s.sends >= min_sample]
    common = {
        "channel": channel,
        "global_open_rate": round(global_rate, 4),
        "total_sends": total_sends,
        "lookback_days": lookback_days,
    }
    if eligible:
        best = eligible[0]
        return SendTimeResult(
            send_weekday=best.weekday,
            send_hour_local=best.hour,
            weekday_name=best.weekday_name,
            expected_open_rate=best.expected_open_rate,
            sample_sends=best.sends,
            alternatives=eligible[1 : 1 + ALTERNATIVES],
            **common,
        )
    weekday, hour = FALLBACK_SLOT
    seen = next((s for s in slots if (s.weekday, s.hour) == FALLBACK_SLOT), None)
    reason = (
        f"No {channel} sends in the last {lookback_days} days."
        if not total_sends
        else f"No local slot has at least {min_sample} {channel} sends in the last "
        f"{lookback_days} days."
    )
    return SendTimeResult(
        send_weekday=weekday,
        send_hour_local=hour,
        weekday_name=WEEKDAY_NAMES[weekday],
        expected_open_rate=seen.expected_open_rate if seen else round(global_rate, 4),
        sample_sends=seen.sends if seen else 0,
        alternatives=slots[:ALTERNATIVES],
        fallback_reason=reason,
        **common,
    )


def next_send_date(*, today: date, start: date | None, send_weekday: int) -> date:
    """The first date on or after max(tomorrow, start) that falls on `send_weekday`."""
    if not 0 <= send_weekday <= 6:
        raise ValueError("send_weekday must be 0 (Monday) to 6 (Sunday)")
    first = today + timedelta(days=1)
    if start is not None and start > first:
        first = start
    return first + timedelta(days=(send_weekday - first.weekday()) % 7)


def clear_send_time_cache() -> None:
    """Forget every remembered send-time answer (benchmarks use it to measure cold calls)."""
    _RESULTS.clear()


def _audience_key(
    conn: Connection, contact_ids: list[int] | None, segment_action_id: str | None
) -> object:
    if segment_action_id is not None:
        return (segment_action_id, segment_fingerprint(conn, segment_action_id))
    if contact_ids is None:
        return b"all"
    return hashlib.blake2b(array("q", contact_ids).tobytes(), digest_size=16).digest()


def _distinct(contact_ids: list[int]) -> bool:
    return len(set(contact_ids)) == len(contact_ids)


_RESULTS: DerivedCache[SendTimeResult] = DerivedCache(size=32)
"""The last few send-time answers; their keys hold the rollup build token."""
