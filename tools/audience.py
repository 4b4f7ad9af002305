"""Segments: who matches a set of rules, and who is suppressed from it and why."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from db.dialect import utc_text
from db.temp import temp_table
from workspace.rollups import rollup_connection, rollup_state

MessagingChannel = Literal["email", "sms", "push"]
SUPPRESSION_REASONS = ("unsubscribed", "bounced", "no_consent", "frequency_cap")
FREQUENCY_WINDOW_DAYS = 7
CHANNEL_LABELS = {"email": "email", "sms": "SMS", "push": "push"}


class SegmentRules(BaseModel):
    """Who to include, on which messaging channels; every rule narrows the audience."""

    channels: list[MessagingChannel] = Field(min_length=1)
    """Channels to reach them on; a contact needs consent on at least one."""
    min_days_since_purchase: int | None = Field(default=None, ge=0)
    """Lapsed: last purchase at least this many days ago (never-purchased is not lapsed)."""
    max_days_since_purchase: int | None = Field(default=None, ge=0)
    """Last purchase at most this many days ago."""
    min_orders: int | None = Field(default=None, ge=0)
    min_lifetime_value: float | None = Field(default=None, ge=0)
    regions: list[str] | None = None
    """Region names, matched without regard to case."""
    never_purchased: bool = False
    created_within_days: int | None = Field(default=None, ge=0)
    """Joined within this many days."""
    engaged_within_days: int | None = Field(default=None, ge=0)
    """Opened or clicked within this many days."""
    frequency_cap: int = Field(default=3, ge=1)
    """Suppress contacts who already got this many sends (any channel) in the last 7 days."""

    @model_validator(mode="after")
    def _consistent(self) -> SegmentRules:
        # min_orders=0 and min_lifetime_value=0 match everyone, so they do not conflict.
        purchase_rules = (
            self.min_days_since_purchase,
            self.max_days_since_purchase,
            self.min_orders or None,
            self.min_lifetime_value or None,
        )
        if self.never_purchased and any(rule is not None for rule in purchase_rules):
            raise ValueError("never_purchased cannot be combined with purchase rules")
        low, high = self.min_days_since_purchase, self.max_days_since_purchase
        if low is not None and high is not None and low > high:
            raise ValueError("min_days_since_purchase is greater than max_days_since_purchase")
        self.channels = list(dict.fromkeys(self.channels))
        return self


class SegmentResult(BaseModel):
    """How many contacts match, how many remain after suppression, and why the rest left."""

    matched: int
    """Contacts matching the rules, before suppression."""
    size: int
    """Recipients after suppression."""
    suppressed: dict[str, int]
    """Counts by reason: unsubscribed, bounced, no_consent, frequency_cap (always all four)."""
    by_channel: dict[str, int]
    """Included contacts reachable on each requested channel."""


def build_segment(session: Session, rules: SegmentRules, *, now: datetime) -> SegmentResult:
    """Count the contacts matching the rules and apply suppression, in one SQL query."""
    with rollup_connection(session) as conn:
        sql, params = _classified(rules, now, recent_from=rollup_state(conn).recent_from)
        query = f"{sql} SELECT reason, NULL AS recency, {_COUNTS} FROM classified GROUP BY reason"
        counts = conn.execute(_bound(rules, query), params).all()
    return _result(rules, counts)


def segment_contact_ids(session: Session, rules: SegmentRules, *, now: datetime) -> list[int]:
    """Ids of the contacts a segment includes after suppression, ascending."""
    with rollup_connection(session) as conn:
        sql, params = _classified(rules, now, recent_from=rollup_state(conn).recent_from)
        query = f"{sql} SELECT id FROM classified WHERE reason = 'included' ORDER BY id"
        return [row[0] for row in conn.execute(_bound(rules, query), params)]


@dataclass(frozen=True)
class ClassifiedSegment:
    """A segment classified once: its counts, other recency windows' sizes, and its recipients."""

    conn: Connection
    result: SegmentResult
    """The counts for the rules as given."""
    window_sizes: dict[int, int]
    """Recipients per lapsed-for-at-least window (days), the rules' own one included."""
    members: str
    """A temp table (`id` column) of the recipients' contact ids, for per-recipient queries."""

    def member_ids(self) -> list[int]:
        """The recipients' contact ids, ascending."""
        return [row[0] for row in self.conn.exec_driver_sql(f"SELECT id FROM {self.members}")]

    def save_members(self, action_id: str) -> int:
        """Store the recipients as the members of an executed segment action, replacing any."""
        self.conn.exec_driver_sql("DELETE FROM segmentmember WHERE action_id = ?", (action_id,))
        return int(
            self.conn.exec_driver_sql(
                "INSERT INTO segmentmember (action_id, contact_id) "
                f"SELECT ?, id FROM {self.members} ORDER BY id",
                (action_id,),
            ).rowcount
        )


@contextmanager
def classified_segment(
    session: Session, rules: SegmentRules, *, now: datetime, recency_days: Sequence[int] = ()
) -> Iterator[ClassifiedSegment]:
    """Classify the matching contacts once, into a temp table the block reads from.

    With `recency_days`, the one pass also covers those lapsed-for-at-least windows (the
    rules with another `min_days_since_purchase`): each contact is put in the narrowest
    window it falls in, so a window's size is a sum of buckets. The recipients of the rules
    as given are copied to `members`, for per-recipient scores.
    """
    with rollup_connection(session) as conn:
        recent_from = rollup_state(conn).recent_from
        sql, params = _classified(rules, now, recent_from=recent_from, recency_days=recency_days)
        own = rules.min_days_since_purchase
        with temp_table(conn, "segment_members", "id INTEGER PRIMARY KEY") as members:
            with temp_table(conn, "segment_pass", _PASS_COLUMNS) as passed:
                fill = (
                    f"{sql} INSERT INTO {passed} "
                    "SELECT id, reason, recency, can_email, can_sms, can_push FROM classified"
                )
                conn.execute(_bound(rules, fill), params)
                counts = conn.exec_driver_sql(
                    f"SELECT reason, recency, {_COUNTS} FROM {passed} GROUP BY reason, recency"
                ).all()
                conn.exec_driver_sql(
                    f"INSERT INTO {members} SELECT id FROM {passed} "
                    "WHERE reason = 'included' AND (? IS NULL OR recency >= ?) ORDER BY id",
                    (own, own),
                )
            windows = sorted({*recency_days, own}) if own is not None else []
            yield ClassifiedSegment(
                conn=conn,
                result=_result(rules, counts, min_days=own),
                window_sizes={days: _result(rules, counts, min_days=days).size for days in windows},
                members=members,
            )


def describe_rules(rules: SegmentRules) -> str:
    """The rules as one plain sentence a marketer can check."""
    low, high = rules.min_days_since_purchase, rules.max_days_since_purchase
    buyer_rules = (
        low is not None or high is not None or rules.min_orders or rules.min_lifetime_value
    )
    if rules.never_purchased:
        parts = ["contacts who have never purchased"]
    elif buyer_rules:
        parts = ["customers"]
    else:
        parts = ["contacts"]
    if low is not None and high is not None:
        parts.append(f"whose last purchase was between {low} and {high} days ago")
    elif low is not None:
        parts.append(f"whose last purchase was at least {_days(low)} ago")
    elif high is not None:
        parts.append(f"who purchased within the last {_days(high)}")
    if rules.min_orders:
        parts.append(f"with at least {rules.min_orders} order{'s' if rules.min_orders > 1 else ''}")
    if rules.min_lifetime_value:
        parts.append(f"with a lifetime value of at least {rules.min_lifetime_value:,.2f}")
    if rules.regions is not None:
        parts.append(f"in {_either(rules.regions) or 'no region'}")
    if rules.created_within_days is not None:
        parts.append(f"who joined in the last {_days(rules.created_within_days)}")
    if rules.engaged_within_days is not None:
        parts.append(f"who opened or clicked in the last {_days(rules.engaged_within_days)}")
    sentence = " ".join(parts)
    channels = _either([CHANNEL_LABELS[c] for c in rules.channels])
    return f"{sentence}, reachable by {channels}"


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _either(items: list[str]) -> str:
    if len(items) <= 2:
        return " or ".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"


_PASS_COLUMNS = (
    "id INTEGER NOT NULL, reason TEXT NOT NULL, recency INTEGER, "
    "can_email INTEGER, can_sms INTEGER, can_push INTEGER"
)
"""The classified contacts of one pass, before the counts and the recipients are taken."""
_COUNTS = "count(*) AS n, sum(can_email) AS email, sum(can_sms) AS sms, sum(can_push) AS push"
"""Per group of classified contacts: how many, and how many each channel reaches."""


def _bound(rules: SegmentRules, sql: str) -> TextClause:
    """The statement with the region list bound as an expanding parameter when there is one."""
    query = text(sql)
    if rules.regions is not None:
        query = query.bindparams(bindparam("regions", expanding=True))
    return query


def _result(
    rules: SegmentRules, counts: Sequence[Sequence[Any]], *, min_days: int | None = None
) -> SegmentResult:
    """Grouped (reason, recency, n, email, sms, push) rows as a segment, from one window on."""
    suppressed = dict.fromkeys(SUPPRESSION_REASONS, 0)
    reachable = {"email": 0, "sms": 0, "push": 0}
    size = 0
    for reason, recency, count, email, sms, push in counts:
        if min_days is not None and recency is not None and recency < min_days:
            continue
        if reason == "included":
            size += count
            for channel, n in (("email", email), ("sms", sms), ("push", push)):
                reachable[channel] += int(n or 0)
        else:
            suppressed[reason] += count
    return SegmentResult(
        matched=size + sum(suppressed.values()),
        size=size,
        suppressed=suppressed,
        by_channel={channel: reachable[channel] for channel in rules.channels},
    )


def _classified(
    rules: SegmentRules,
    now: datetime,
    *,
    recent_from: str | None,
    recency_days: Sequence[int] = (),
) -> tuple[str, dict[str, Any]]:
    """A WITH clause defining `classified`: every matching contact with its reason and reach.

    Its `recency` column is the narrowest lapsed-for-at-least window of the rules' own and
    `recency_days` that the contact falls in (NULL without a `min_days_since_purchase`);
    the widest window bounds who matches.

    `recent_from` is the day from which the recent-sends rollup holds every send: when
    the cap window starts on or after it, the capped contacts come from one ordered scan
    of that small table; otherwise each candidate's sends are counted in the events.
    """
    cap_start = utc_text(now - timedelta(days=FREQUENCY_WINDOW_DAYS))
    params: dict[str, Any] = {
        "now": utc_text(now),
        "cap_start": cap_start,
        "cap": rules.frequency_cap,
        "want_email": "email" in rules.channels,
        "want_sms": "sms" in rules.channels,
        "want_push": "push" in rules.channels,
    }
    where = ["1 = 1"]
    recency = "NULL"
    if rules.min_days_since_purchase is not None:
        windows = sorted({rules.min_days_since_purchase, *recency_days})
        for days in windows:
            params[f"lapsed_{days}"] = utc_text(now - timedelta(days=days))
        where.append(f"c.last_purchase_at <= :lapsed_{windows[0]}")
        narrower = " ".join(
            f"WHEN c.last_purchase_at <= :lapsed_{days} THEN {days}" for days in windows[:0:-1]
        )
        recency = f"CASE {narrower} ELSE {windows[0]} END" if narrower else str(windows[0])
    if rules.max_days_since_purchase is not None:
        where.append("c.last_purchase_at >= :purchased_after")
        params["purchased_after"] = utc_text(now - timedelta(days=rules.max_days_since_purchase))
    if rules.min_orders is not None:
        where.append("c.orders >= :min_orders")
        params["min_orders"] = rules.min_orders
    if rules.min_lifetime_value is not None:
        where.append("c.lifetime_value >= :min_ltv")
        params["min_ltv"] = rules.min_lifetime_value
    if rules.regions is not None:
        where.append("lower(c.region) IN :regions")
        params["regions"] = [region.lower() for region in rules.regions]
    if rules.never_purchased:
        where.append("c.orders = 0 AND c.last_purchase_at IS NULL")
    if rules.created_within_days is not None:
        where.append("c.created_at >= :created_after")
        params["created_after"] = utc_text(now - timedelta(days=rules.created_within_days))
    if rules.engaged_within_days is not None:
        where.append(
            "EXISTS (SELECT 1 FROM event g WHERE g.contact_id = c.id "
            "AND g.event IN ('open', 'click') AND g.occurred_at >= :engaged_after "
            "AND g.occurred_at < :now)"
        )
        params["engaged_after"] = utc_text(now - timedelta(days=rules.engaged_within_days))
    if recent_from is not None and cap_start >= recent_from:
        capped_cte = """
    capped AS MATERIALIZED (
        SELECT contact_id FROM rollup_recent_send
        WHERE occurred_at >= :cap_start AND occurred_at < :now
        GROUP BY contact_id HAVING count(*) >= :cap
    ),"""
        is_capped = "id IN (SELECT contact_id FROM capped)"
    else:
        capped_cte = ""
        is_capped = (
            "(SELECT count(*) FROM event s WHERE s.contact_id = matched.id "
            "AND s.event = 'send' AND s.occurred_at >= :cap_start "
            "AND s.occurred_at < :now) >= :cap"
        )
    # The CASE order is the suppression order; SQLite evaluates it lazily, so the
    # frequency check only runs for contacts that would otherwise be included.
    sql = f"""
    WITH {capped_cte}
    matched AS (
        SELECT c.id, c.unsubscribed, c.bounced, c.email_consent, {recency} AS recency,
            CASE WHEN :want_email AND c.email_consent AND NOT c.bounced THEN 1 ELSE 0 END
                AS can_email,
            CASE WHEN :want_sms AND c.sms_consent THEN 1 ELSE 0 END AS can_sms,
            CASE WHEN :want_push AND c.push_consent THEN 1 ELSE 0 END AS can_push
        FROM contact c
        WHERE {" AND ".join(where)}
    ),
    classified AS (
        SELECT id, recency, can_email, can_sms, can_push,
            CASE
                WHEN unsubscribed THEN 'unsubscribed'
                WHEN can_email + can_sms + can_push = 0 THEN
                    CASE WHEN bounced AND :want_email AND email_consent
                        THEN 'bounced' ELSE 'no_consent' END
                WHEN {is_capped} THEN 'frequency_cap'
                ELSE 'included'
            END AS reason
        FROM matched
    )
    """
    return sql, params
