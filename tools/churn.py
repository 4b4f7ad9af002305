"""Churn risk: each customer's chance of having stopped buying, as a transparent logistic."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from db.dialect import (
    count_where_sql,
    days_between_sql,
    flag_sql,
    greatest_sql,
    least_sql,
    utc_text,
)
from db.temp import id_scope
from tools.rfm import CONTACT_SCORE_LIMIT
from workspace.contact_rollups import ContactRollups, contact_rollups

ChurnBand = Literal["low", "medium", "high"]
CHURN_BANDS: tuple[ChurnBand, ...] = ("low", "medium", "high")
# The churn formula's hand-set weights (see churn_risk).
CHURN_INTERCEPT = -2.0
CHURN_OVERDUE_WEIGHT = 1.5
CHURN_OVERDUE_CAP = 4.0
CHURN_ENGAGEMENT_WEIGHT = 0.75
CHURN_ENGAGEMENT_CAP = 4.0
CHURN_UNSUBSCRIBED_WEIGHT = 3.0
CHURN_MIN_INTERVAL_DAYS = 7.0
CHURN_MEDIUM_FROM = 1 / 3
CHURN_HIGH_FROM = 2 / 3
"""Risk at or above which a customer is in the medium / high band."""


class ChurnScore(BaseModel):
    """One customer's churn risk and the inputs that produced it."""

    contact_id: int
    recency_days: float
    interval_days: float
    """Expected days between purchases: their own mean gap, or `horizon_days`."""
    overdue: float
    """recency_days / interval_days, capped at CHURN_OVERDUE_CAP."""
    engagement: float
    """Decayed opens and clicks in the last `horizon_days`, capped at CHURN_ENGAGEMENT_CAP."""
    unsubscribed: bool
    logit: float
    risk: float
    band: ChurnBand


class ChurnBands(BaseModel):
    """Customers per churn-risk band, highest risk first."""

    high: int
    """Risk of 2/3 or more."""
    medium: int
    """Risk from 1/3 to 2/3."""
    low: int
    """Risk below 1/3."""


class ChurnReport(BaseModel):
    """How customers in scope spread over churn-risk bands."""

    now: datetime
    horizon_days: int
    customers: int
    """Contacts in scope with a purchase: the ones scored."""
    never_purchased: int
    """Contacts in scope without a purchase: not scored."""
    bands: dict[str, int]
    """Customers per band: low (risk < 1/3), medium (< 2/3), high."""
    scores: list[ChurnScore]
    """Per-contact scores for a contact list (at most CONTACT_SCORE_LIMIT); empty for everyone."""
    scores_truncated: bool
    formula: str
    detail: str


CHURN_FORMULA = (
    "risk = 1 / (1 + exp(-z)), z = -2.0 + 1.5 * min(recency / interval, 4) "
    "- 0.75 * min(engagement, 4) + 3.0 * unsubscribed"
)


def churn_risk(
    session: Session,
    *,
    now: datetime,
    contact_ids: list[int] | None = None,
    horizon_days: int = 90,
) -> ChurnReport:
    """Score each customer's risk of having stopped buying, 0-1, with a fixed logistic formula.

    For a customer (a contact with `last_purchase_at`):

    - recency = days from the last purchase to `now` (at least 0);
    - interval = their mean gap between purchases, (last - first) / (purchases - 1) over
      their purchase events before `now`, at least 7 days; customers with fewer than two
      orders (or purchase events) get `horizon_days`;
    - overdue = min(recency / interval, 4): how many of their own cycles they have missed;
    - engagement = sum over opens (weight 1) and clicks (weight 2) in the `horizon_days`
      before `now` of (1 - age_days / horizon_days), a linear decay, capped at 4;
    - z = -2.0 + 1.5 * overdue - 0.75 * engagement + 3.0 * unsubscribed;
    - risk = 1 / (1 + exp(-z)); bands: low < 1/3 <= medium < 2/3 <= high.

    The weights are set by hand, not fitted: a customer on schedule with no engagement is
    at 0.12, one cycle overdue 0.38, two cycles 0.73. Bands are counted in SQL by
    comparing z with logit(1/3) and logit(2/3), so no per-row work happens in Python.
    """
    params = _churn_params(now, horizon_days)
    conn = session.connection()
    rollups = contact_rollups(conn)
    with id_scope(conn, "churn_ids", contact_ids) as in_scope:
        scope = "" if in_scope is None else f"AND c.id IN (SELECT id FROM {in_scope})"
        counted = churn_bands(conn, in_scope, now=now, horizon_days=horizon_days)
        low, medium, high = counted.low, counted.medium, counted.high
        never = conn.execute(
            text(f"SELECT count(*) FROM contact c WHERE c.last_purchase_at IS NULL {scope}")
        ).scalar_one()
        scores: list[ChurnScore] = []
        if in_scope is not None:
            # Only the listed customers with the lowest ids: the subqueries run for them alone.
            first = _churn_scored(
                "AND c.id IN (SELECT i.id FROM "
                f"{in_scope} i JOIN contact b ON b.id = i.id "
                "WHERE b.last_purchase_at IS NOT NULL ORDER BY i.id LIMIT :limit)",
                rollups,
                since=params["since"],
            )
            rows = conn.execute(
                text(f"{first} SELECT * FROM scored ORDER BY id"),
                {**params, "limit": CONTACT_SCORE_LIMIT},
            ).all()
            scores = [_churn_score(row) for row in rows]

    bands = dict(zip(CHURN_BANDS, (low, medium, high), strict=True))
    customers = low + medium + high
    if customers:
        detail = (
            f"Of {customers:,} customers, {high:,} ({high / customers:.0%}) are at high churn "
            f"risk, {medium:,} medium and {low:,} low; {never:,} contacts never purchased."
        )
    else:
        detail = f"No customers to score; {never:,} contacts never purchased."
    return ChurnReport(
        now=now,
        horizon_days=horizon_days,
        customers=customers,
        never_purchased=never,
        bands=bands,
        scores=scores,
        scores_truncated=len(scores) < customers if contact_ids is not None else False,
        formula=CHURN_FORMULA,
        detail=detail,
    )


def churn_bands(
    conn: Connection, members: str | None, *, now: datetime, horizon_days: int = 90
) -> ChurnBands:
    """Customers per band among the ids in `members`, scored as `churn_risk` scores them.

    `members` is a table with an `id` column (None: every contact); members who never
    purchased are not scored. The inputs are looked up per member, so the cost follows the
    number of members, not of contacts.
    """
    scope = "" if members is None else f"AND c.id IN (SELECT id FROM {members})"
    params = _churn_params(now, horizon_days)
    scored = _churn_scored(scope, contact_rollups(conn), since=params["since"])
    low, medium, high = conn.execute(
        text(
            f"{scored} SELECT coalesce({count_where_sql('z < :medium')}, 0), "
            f"coalesce({count_where_sql('z >= :medium AND z < :high')}, 0), "
            f"coalesce({count_where_sql('z >= :high')}, 0) FROM scored"
        ),
        params,
    ).one()
    return ChurnBands(high=high, medium=medium, low=low)


def _churn_params(now: datetime, horizon_days: int) -> dict[str, Any]:
    if horizon_days < 1:
        raise ValueError("horizon_days must be at least 1")
    return {
        "now": utc_text(now),
        "since": utc_text(now - timedelta(days=horizon_days)),
        "horizon": float(horizon_days),
        "min_interval": CHURN_MIN_INTERVAL_DAYS,
        "medium": _logit(CHURN_MEDIUM_FROM),
        "high": _logit(CHURN_HIGH_FROM),
    }


def _churn_scored(scope: str, rollups: ContactRollups | None, *, since: str) -> str:
    """A WITH clause defining `scored`: every customer in scope with the churn inputs and z.

    With current contact rollups, a customer whose purchase events all precede `:now`
    takes its purchase interval from the rollup, and engagement is read from the recent
    opens and clicks when they reach back to `since`: the same sums over the same events.
    """
    # GROUP BY c.id changes no rows: it keeps `inputs` from being flattened into the outer
    # aggregate, which would copy (and so re-run) each correlated subquery per use of z.
    overdue = least_sql(str(CHURN_OVERDUE_CAP), "recency_days / interval_days")
    interval = f"""(
                SELECT {days_between_sql("min(p.occurred_at)", "max(p.occurred_at)")}
                    / (count(*) - 1)
                FROM event p WHERE p.contact_id = c.id AND p.event = 'purchase'
                    AND p.occurred_at < :now
                HAVING count(*) >= 2)"""
    engaged = "event g WHERE g.contact_id = c.id AND g.event IN ('open', 'click')"
    weight = "CASE WHEN g.event = 'click' THEN 2.0 ELSE 1.0 END"
    joined = ""
    if rollups is not None:
        joined = "LEFT JOIN rollup_contact_score s ON s.contact_id = c.id"
        rolled = days_between_sql("s.first_purchase", "s.last_purchase")
        interval = (
            f"CASE WHEN s.purchases = 0 OR s.last_purchase < :now THEN CASE WHEN s.purchases >= 2 "
            f"THEN {rolled} / (s.purchases - 1) END ELSE {interval} END"
        )
        if rollups.covers(since):
            engaged, weight = "rollup_recent_engagement g WHERE g.contact_id = c.id", "g.weight"
    return f"""
    WITH inputs AS (
        SELECT c.id, c.unsubscribed,
            {greatest_sql("0.0", days_between_sql("c.last_purchase_at", ":now"))} AS recency_days,
            CASE WHEN c.orders >= 2 THEN {interval} END AS own_interval,
            (SELECT sum({weight} * (1.0 - {days_between_sql("g.occurred_at", ":now")} / :horizon))
                FROM {engaged}
                    AND g.occurred_at >= :since AND g.occurred_at < :now) AS engagement
        FROM contact c {joined}
        WHERE c.last_purchase_at IS NOT NULL {scope}
        GROUP BY c.id
    ),
    rhythm AS (
        SELECT id, unsubscribed, recency_days,
            coalesce({greatest_sql(":min_interval", "own_interval")}, :horizon) AS interval_days,
            {least_sql(str(CHURN_ENGAGEMENT_CAP), "coalesce(engagement, 0.0)")} AS engagement
        FROM inputs
    ),
    scored AS (
        SELECT id, unsubscribed, recency_days, interval_days, engagement,
            {overdue} AS overdue,
            {CHURN_INTERCEPT}
                + {CHURN_OVERDUE_WEIGHT} * {overdue}
                - {CHURN_ENGAGEMENT_WEIGHT} * engagement
                + {CHURN_UNSUBSCRIBED_WEIGHT} * {flag_sql("unsubscribed")} AS z
        FROM rhythm
    )
    """


def _churn_score(row: Any) -> ChurnScore:
    # The band compares z with the logit thresholds, exactly as the SQL counts do.
    band: ChurnBand = (
        "high"
        if row.z >= _logit(CHURN_HIGH_FROM)
        else "medium"
        if row.z >= _logit(CHURN_MEDIUM_FROM)
        else "low"
    )
    return ChurnScore(
        contact_id=row.id,
        recency_days=round(row.recency_days, 2),
        interval_days=round(row.interval_days, 2),
        overdue=round(row.overdue, 4),
        engagement=round(row.engagement, 4),
        unsubscribed=bool(row.unsubscribed),
        logit=round(row.z, 4),
        risk=round(1 / (1 + math.exp(-row.z)), 4),
        band=band,
    )


def _logit(p: float) -> float:
    return math.log(p / (1 - p))
