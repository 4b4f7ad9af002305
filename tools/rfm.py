"""RFM scores: recency, frequency and monetary quintiles on an NTILE grid, and segments."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from db.dialect import count_where_sql, flag_sql, ordered_join
from db.temp import id_scope
from workspace.contact_rollups import RFM_CUTS_SQL, RFM_DIMENSIONS, contact_rollups
from workspace.rollups import rollup_state

CONTACT_SCORE_LIMIT = 500
"""Per-contact scores (RFM and churn) are listed for at most this many contacts (the lowest ids)."""

NEVER_PURCHASED = "never purchased"
RFM_LABELS = (
    "champions",
    "loyal",
    "potential loyalists",
    "new",
    "promising",
    "need attention",
    "about to sleep",
    "cannot lose them",
    "at risk",
    "hibernating",
    "lost",
    NEVER_PURCHASED,
)
"""Every RFM segment, in report order."""


class RfmScore(BaseModel):
    """One contact's recency, frequency and monetary scores (1-5; 0 = never purchased)."""

    contact_id: int
    recency_days: float | None
    """Days from the last purchase to `now`; None when the contact never purchased."""
    orders: int
    lifetime_value: float
    r: int
    f: int
    m: int
    label: str


class ScoreRange(BaseModel):
    """The raw values one score covers among all purchasers."""

    score: int
    low: float
    high: float
    contacts: int


class RfmReport(BaseModel):
    """How the contacts in scope spread over the RFM segments."""

    now: datetime
    purchasers: int
    """Purchasers in the whole workspace: the population the quintiles are cut from."""
    contacts: int
    """Contacts in scope (the list, or every contact), purchasers or not."""
    counts: dict[str, int]
    """Contacts in scope per segment label (every label, report order)."""
    recency_days: list[ScoreRange]
    orders: list[ScoreRange]
    lifetime_value: list[ScoreRange]
    scores: list[RfmScore]
    """Per-contact scores for a contact list (at most CONTACT_SCORE_LIMIT); empty for everyone."""
    scores_truncated: bool
    detail: str


def rfm_label(r: int, f: int, m: int) -> str:
    """The segment for a score triple: the first rule below that matches.

    | segment             | rule                          |
    | ------------------- | ----------------------------- |
    | never purchased     | r = 0                         |
    | champions           | r >= 4, f >= 4, m >= 4        |
    | loyal               | r >= 3, f >= 4                |
    | new                 | r = 5, f = 1                  |
    | promising           | r >= 4, f <= 2                |
    | potential loyalists | r >= 4 (f = 3)                |
    | need attention      | r = 3, f >= 2                 |
    | about to sleep      | r = 3 (f = 1)                 |
    | cannot lose them    | r <= 2, f >= 4, m >= 4        |
    | at risk             | r <= 2, f >= 3                |
    | hibernating         | r = 2 (f <= 2)                |
    | lost                | r = 1 (f <= 2)                |
    """
    if r == 0:
        return NEVER_PURCHASED
    if not (1 <= r <= 5 and 1 <= f <= 5 and 1 <= m <= 5):
        raise ValueError("scores must be 1-5 (or r = 0 for never purchased)")
    if r >= 4 and f >= 4 and m >= 4:
        return "champions"
    if r >= 3 and f >= 4:
        return "loyal"
    if r == 5 and f == 1:
        return "new"
    if r >= 4:
        return "promising" if f <= 2 else "potential loyalists"
    if r == 3:
        return "need attention" if f >= 2 else "about to sleep"
    if f >= 4 and m >= 4:
        return "cannot lose them"
    if f >= 3:
        return "at risk"
    return "hibernating" if r == 2 else "lost"


def rfm_scores(
    session: Session, *, now: datetime, contact_ids: list[int] | None = None
) -> RfmReport:
    """Score purchasers 1-5 on recency, frequency and monetary value, and label each.

    Recency is the last purchase (more recent scores higher), frequency is `orders`,
    monetary is `lifetime_value`. A score is the quintile, NTILE(5) in SQL, of the value
    among every purchaser in the workspace (a contact with `last_purchase_at`), so a
    contact list is scored against the whole customer base. Tied values share the lowest
    quintile any of them falls in: with t_k the largest value in quintile k,
    score = 1 + #{k <= 4 : t_k < value}. Contacts who never purchased score r = f = m = 0
    ("never purchased"). Labels follow `rfm_label`. Per-contact scores are listed only for
    a contact list, at most CONTACT_SCORE_LIMIT of them.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    conn = session.connection()
    (r_sql, f_sql, m_sql), params = _score_sql(conn)
    with id_scope(conn, "rfm_ids", contact_ids) as in_scope:
        listed = "1" if in_scope is None else flag_sql(f"id IN (SELECT id FROM {in_scope})")
        groups = conn.execute(
            text(
                "SELECT r, f, m, count(*) AS n, sum(listed) AS listed, "
                "min(last_purchase_at) AS min_r, max(last_purchase_at) AS max_r, "
                "min(orders) AS min_f, max(orders) AS max_f, "
                "min(lifetime_value) AS min_m, max(lifetime_value) AS max_m "
                f"FROM (SELECT {r_sql} AS r, {f_sql} AS f, {m_sql} AS m, {listed} AS listed, "
                "last_purchase_at, orders, lifetime_value "
                "FROM contact WHERE last_purchase_at IS NOT NULL) GROUP BY r, f, m"
            ),
            params,
        ).all()
        scope = "" if in_scope is None else f"WHERE id IN (SELECT id FROM {in_scope})"
        contacts, never = conn.execute(
            text(
                f"SELECT count(*), coalesce({count_where_sql('last_purchase_at IS NULL')}, 0) "
                f"FROM contact {scope}"
            )
        ).one()
        rows: Sequence[Any] = []
        if in_scope is not None:
            never_zero = "CASE WHEN c.last_purchase_at IS NULL THEN 0 ELSE {} END"
            rows = conn.execute(
                text(
                    "SELECT c.id, c.last_purchase_at, c.orders, c.lifetime_value, "
                    f"{never_zero.format(r_sql)} AS r, {never_zero.format(f_sql)} AS f, "
                    f"{never_zero.format(m_sql)} AS m "
                    f"FROM {in_scope} i JOIN contact c ON c.id = i.id ORDER BY c.id LIMIT :limit"
                ),
                {**params, "limit": CONTACT_SCORE_LIMIT + 1},
            ).all()

    scores = [
        RfmScore(
            contact_id=row.id,
            recency_days=None if row.r == 0 else _days_since(now, row.last_purchase_at),
            orders=row.orders,
            lifetime_value=row.lifetime_value,
            r=row.r,
            f=row.f,
            m=row.m,
            label=rfm_label(row.r, row.f, row.m),
        )
        for row in rows[:CONTACT_SCORE_LIMIT]
    ]
    counts = dict.fromkeys(RFM_LABELS, 0)
    counts[NEVER_PURCHASED] = never
    for row in groups:
        counts[rfm_label(row.r, row.f, row.m)] += row.listed or 0
    # Older purchases score lower, so a recency score's fewest days come from its latest.
    recency = [
        ScoreRange(
            score=item.score,
            low=_days_since(now, item.high_value),
            high=_days_since(now, item.low_value),
            contacts=item.contacts,
        )
        for item in _ranges(groups, "r", "min_r", "max_r")
    ]
    return RfmReport(
        now=now,
        purchasers=sum(row.n for row in groups),
        contacts=contacts,
        counts=counts,
        recency_days=recency,
        orders=[_numeric(item) for item in _ranges(groups, "f", "min_f", "max_f")],
        lifetime_value=[_numeric(item) for item in _ranges(groups, "m", "min_m", "max_m")],
        scores=scores,
        scores_truncated=len(rows) > CONTACT_SCORE_LIMIT,
        detail=_rfm_detail(counts, contacts),
    )


def rfm_tier_counts(conn: Connection, members: str) -> dict[str, int]:
    """Contacts per RFM segment among the ids in `members` (a table with an `id` column).

    Every label, in report order; scored as `rfm_scores` scores them, against every
    purchaser in the workspace. One lookup per member (of the scores in the contact
    rollup, when it is current), so a segment's tiers cost what its size costs, not
    what the workspace's does.
    """
    counts = dict.fromkeys(RFM_LABELS, 0)
    if contact_rollups(conn) is not None:
        # Scored when the rollups were built; members without a row never purchased.
        rows: Any = conn.exec_driver_sql(
            "SELECT coalesce(s.r, 0), coalesce(s.f, 0), coalesce(s.m, 0), count(*) "
            f"FROM {members} i LEFT JOIN rollup_contact_score s ON s.contact_id = i.id "
            "GROUP BY 1, 2, 3"
        )
    else:
        scores, params = _score_sql(conn)
        r, f, m = (f"CASE WHEN c.last_purchase_at IS NULL THEN 0 ELSE {sql} END" for sql in scores)
        rows = conn.execute(
            text(
                f"SELECT r, f, m, count(*) FROM (SELECT {r} AS r, {f} AS f, {m} AS m "
                f"FROM {members} i {ordered_join()} contact c ON c.id = i.id) GROUP BY r, f, m"
            ),
            params,
        )
    for r_score, f_score, m_score, n in rows:
        counts[rfm_label(r_score, f_score, m_score)] += n
    return counts


def _score_sql(conn: Connection) -> tuple[tuple[str, str, str], dict[str, Any]]:
    """SQL for the r, f and m scores of a `contact` row (a purchaser's), and its parameters."""
    cuts = _cut_points(conn)
    params: dict[str, Any] = {}
    score_sql = []
    for n, (_, column) in enumerate(RFM_DIMENSIONS):
        terms = []
        for k, top in enumerate(cuts[n][:-1]):  # the last tile's top is the maximum
            params[f"cut{n}_{k}"] = top
            above = flag_sql(f"{column} > :cut{n}_{k}")
            terms.append(f" + {above}")
        score_sql.append(f"(1{''.join(terms)})")
    r_sql, f_sql, m_sql = score_sql
    return (r_sql, f_sql, m_sql), params


_CUTS: OrderedDict[str, tuple[tuple[Any, ...], ...]] = OrderedDict()
_CUTS_LOCK = threading.Lock()
_CUTS_KEPT = 8


def _cut_points(conn: Connection) -> tuple[tuple[Any, ...], ...]:
    """Each dimension's tile tops over every purchaser: sorting them all is the costly part.

    Kept per workspace version: a token written with the data (a copy of the database
    carries both), replaced by every writer of contacts, so new data is cut afresh. A
    workspace never written through Baton has no version and is cut on every call.
    """
    version = rollup_state(conn).workspace_version
    with _CUTS_LOCK:
        known = _CUTS.get(version) if version else None
    if known is not None:
        return known
    tops: dict[int, list[Any]] = {n: [] for n in range(len(RFM_DIMENSIONS))}
    # The contact rollup keeps the cuts it was built with; otherwise sort every purchaser.
    source = (
        "SELECT dimension, tile, top FROM rollup_rfm_cut"
        if contact_rollups(conn) is not None
        else RFM_CUTS_SQL
    )
    for dimension, _tile, top in conn.execute(text(f"{source} ORDER BY dimension, tile")):
        tops[dimension].append(top)
    cuts = tuple(tuple(tops[n]) for n in range(len(RFM_DIMENSIONS)))
    if version:
        with _CUTS_LOCK:
            _CUTS[version] = cuts
            while len(_CUTS) > _CUTS_KEPT:
                _CUTS.popitem(last=False)
    return cuts


@dataclass
class _Span:
    score: int
    low_value: Any
    high_value: Any
    contacts: int


def _ranges(groups: Sequence[Any], score: str, low: str, high: str) -> list[_Span]:
    """Per score of one dimension: the lowest and highest raw value, and how many hold it."""
    found: dict[int, _Span] = {}
    for row in groups:
        key = getattr(row, score)
        lo, hi = getattr(row, low), getattr(row, high)
        seen = found.get(key)
        if seen is None:
            found[key] = _Span(score=key, low_value=lo, high_value=hi, contacts=row.n)
        else:
            seen.low_value = min(seen.low_value, lo)
            seen.high_value = max(seen.high_value, hi)
            seen.contacts += row.n
    return [found[key] for key in sorted(found)]


def _numeric(span: _Span) -> ScoreRange:
    return ScoreRange(
        score=span.score,
        low=round(float(span.low_value), 2),
        high=round(float(span.high_value), 2),
        contacts=span.contacts,
    )


def _days_since(now: datetime, stored: str | datetime) -> float:
    """Days from a stored UTC timestamp to `now`, at least 0, to two decimals."""
    moment = stored if isinstance(stored, datetime) else datetime.fromisoformat(stored)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(max(0.0, (now - moment).total_seconds() / 86_400), 2)


def _rfm_detail(counts: dict[str, int], contacts: int) -> str:
    if not contacts:
        return "No contacts to score."
    ranked = sorted(
        ((n, label) for label, n in counts.items() if n and label != NEVER_PURCHASED),
        key=lambda item: (-item[0], RFM_LABELS.index(item[1])),
    )
    top = ", ".join(f"{label} {n:,}" for n, label in ranked[:3]) or "no purchasers"
    return (
        f"Of {contacts:,} contacts, {counts[NEVER_PURCHASED]:,} never purchased; "
        f"largest segments: {top}; {counts['at risk'] + counts['cannot lose them']:,} "
        "valuable customers are at risk."
    )
