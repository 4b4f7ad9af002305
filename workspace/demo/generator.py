"""Writing the demo workspace: clear it, fill it in batches, and report what was planted."""

from __future__ import annotations

import random
from datetime import date, timedelta

from pydantic import BaseModel
from sqlalchemy.engine import Connection
from sqlmodel import Session

from db.bulk import indexes_deferred, row_writer
from db.workspace import touch_workspace
from workspace.demo.brand import insert_brand
from workspace.demo.cadence import cadence_for
from workspace.demo.contacts import ContactStream
from workspace.demo.experiments import (
    AB_CLICK_GIVEN_OPEN,
    FATIGUE_DECAY,
    FATIGUING_CAMPAIGN,
    REPEAT_SENDS,
    STEADY_CAMPAIGN,
)
from workspace.demo.messages import BEST_SLOT
from workspace.demo.notes import add_demo_notes
from workspace.demo.spend import (
    ANOMALY_CHANNEL,
    ANOMALY_FACTOR,
    ANOMALY_METRIC,
    anomaly_day,
    spend_rows,
)

_CONTACT_COLUMNS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "country",
    "region",
    "timezone",
    "created_at",
    "email_consent",
    "sms_consent",
    "push_consent",
    "unsubscribed",
    "bounced",
    "lifetime_value",
    "orders",
    "last_purchase_at",
    "attributes",
)
# Event ids are left to the database: the table was just emptied, so ids count up from 1
# in insertion order and the same seed still gives the same ids.
_EVENT_COLUMNS = ("contact_id", "channel", "event", "campaign", "variant", "occurred_at", "revenue")
_BULK_CACHE_KIB = 256 * 1024
"""Page cache while the bulk insert and the index rebuild run."""


class DemoStats(BaseModel):
    """What generate_demo_workspace wrote, and the planted truths the tools should recover."""

    seed: int
    today: date
    contacts: int
    events: int
    spend_rows: int
    purchases: int
    purchasers: int
    lapsed_purchasers: int
    """Purchasers whose last purchase was 90 to 365 days before today."""
    lapsed_share: float
    """lapsed_purchasers / purchasers (about a quarter)."""
    target_events: int | None
    """The event count asked for, if any."""
    cadence: float
    """Campaign reach relative to the default calendar (1.0 unless target_events scaled it)."""
    best_send_slots: dict[str, tuple[int, int]]
    """Region -> the planted best local email slot (weekday with 0 = Monday, hour)."""
    ab_test_campaign: str
    """The email campaign sent as an A/B test in which variant B really wins."""
    ab_test_winner: str
    ab_test_lift: float
    """Planted relative lift of B over A in clicks per send (0.5 = +50%)."""
    ab_test_sends: dict[str, int]
    """Sends per variant."""
    ab_test_clicks: dict[str, int]
    """Clicks per variant."""
    fatiguing_campaign: str
    """The creative re-sent weekly to the same people whose click rate decays per exposure."""
    fatigue_decay: float
    """Planted drop in clicks per send with each repeat exposure (0.15 = -15%)."""
    steady_campaign: str
    """Re-sent weekly to its own cohort just as often, with a flat click rate (the control)."""
    repeat_sends: int
    """Weekly sends of each repeated creative."""
    anomaly_date: date
    """The day with the planted anomaly."""
    anomaly_channel: str
    anomaly_metric: str
    """The daily KPI that is anomalous that day (a daily_kpis field)."""
    anomaly_factor: float
    """The anomalous value is this multiple of a normal day's."""


def generate_demo_workspace(
    session: Session,
    *,
    contacts: int = 20_000,
    seed: int = 7,
    today: date,
    target_events: int | None = None,
) -> DemoStats:
    """Replace the workspace with generated demo data; same arguments give the same rows.

    Planted truths the tools should recover: about a quarter of purchasers lapsed
    (last purchase 90-365 days ago); email opens best on Tuesday 10:00 local in the
    Americas, Thursday 09:00 in Europe and Wednesday 19:00 in APAC; SMS costs more
    per conversion than email; social spend rose in the last four weeks; two extra
    emails in the last week put some contacts over a 3-per-7-days frequency cap; one
    A/B-tested email where variant B gets 50% more clicks per send; one creative
    re-sent weekly whose click rate falls 15% with each exposure (another one re-sent
    as often stays flat); and one day on which search spend is four times normal.

    `target_events` scales the campaign cadence (the reach of every email and SMS
    campaign) so that the event count lands near it (within a few percent; the scale
    is calibrated on a pilot sample that is never written). The default cadence makes
    about 22 events per contact; targets from about 2 to 50 per contact are reachable.
    """
    if contacts < 0:
        raise ValueError("contacts must be zero or more")
    cadence = 1.0
    if target_events is not None:
        cadence = cadence_for(target_events, contacts=contacts, seed=seed, today=today)
    conn = session.connection()
    stream = ContactStream(random.Random(seed), today, cadence)
    timeline = stream.timeline
    with row_writer(conn, cache_kib=_BULK_CACHE_KIB) as writer:
        _clear_workspace(conn)
        insert_brand(conn)
        total_events = purchases = purchasers = lapsed = 0
        lapsed_before = timeline.today_s - 90 * 86_400
        with indexes_deferred(conn, ("event", "contact")):
            for contact_rows, event_rows, last_purchases in stream.batches(contacts):
                writer.insert("contact", _CONTACT_COLUMNS, contact_rows)
                writer.insert("event", _EVENT_COLUMNS, event_rows)
                total_events += len(event_rows)
                for row, last_purchase in zip(contact_rows, last_purchases, strict=True):
                    if last_purchase is not None:
                        purchasers += 1
                        purchases += row[15]  # the contact's order count
                        lapsed += last_purchase <= lapsed_before

    spend = spend_rows(
        stream.rng,
        timeline,
        contacts=contacts,
        email_sends_by_day=stream.messages.email_sends_by_day,
        sms_sends_by_day=stream.messages.sms_sends_by_day,
    )
    conn.exec_driver_sql(
        "INSERT INTO spend (id, date, channel, campaign, spend) VALUES (?, ?, ?, ?, ?)",
        spend,
    )
    conn.exec_driver_sql(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [("workspace_source", "demo"), ("demo_seed", str(seed))],
    )
    add_demo_notes(session, today=today)
    touch_workspace(session)
    return DemoStats(
        seed=seed,
        today=today,
        contacts=contacts,
        events=total_events,
        spend_rows=len(spend),
        purchases=purchases,
        purchasers=purchasers,
        lapsed_purchasers=lapsed,
        lapsed_share=round(lapsed / purchasers, 4) if purchasers else 0.0,
        target_events=target_events,
        cadence=round(cadence, 4),
        best_send_slots=dict(BEST_SLOT),
        ab_test_campaign=stream.calendar.ab_test_campaign,
        ab_test_winner="B",
        ab_test_lift=round(AB_CLICK_GIVEN_OPEN["B"] / AB_CLICK_GIVEN_OPEN["A"] - 1, 4),
        ab_test_sends=dict(stream.messages.ab_sends),
        ab_test_clicks=dict(stream.messages.ab_clicks),
        fatiguing_campaign=FATIGUING_CAMPAIGN,
        fatigue_decay=FATIGUE_DECAY,
        steady_campaign=STEADY_CAMPAIGN,
        repeat_sends=REPEAT_SENDS,
        anomaly_date=timeline.origin + timedelta(days=anomaly_day(timeline)),
        anomaly_channel=ANOMALY_CHANNEL,
        anomaly_metric=ANOMALY_METRIC,
        anomaly_factor=ANOMALY_FACTOR,
    )


def _clear_workspace(conn: Connection) -> None:
    # Children first: foreign keys are enforced.
    conn.exec_driver_sql("DELETE FROM delivery WHERE contact_id IN (SELECT id FROM contact)")
    conn.exec_driver_sql("DELETE FROM segmentmember")
    conn.exec_driver_sql("DELETE FROM consentchange")
    conn.exec_driver_sql("DELETE FROM event")
    conn.exec_driver_sql("DELETE FROM contact")
    conn.exec_driver_sql("DELETE FROM spend")
    conn.exec_driver_sql("DELETE FROM brandprofile")
    conn.exec_driver_sql("DELETE FROM note WHERE source = 'demo'")
