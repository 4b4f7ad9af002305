"""A deterministic demo workspace: a fictional brand, its contacts, a year of events and spend.

The data carries planted truths that Baton's tools should recover from it (listed on
`DemoStats` and in `generate_demo_workspace`). Rows are generated contact by contact
from one seeded random stream and written in batches, so a million contacts never sit
in memory at once.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy.engine import Connection
from sqlmodel import Session

from db.workspace import touch_workspace
from tools.notes import add_note

HISTORY_DAYS = 3 * 365
"""Contacts joined within this many days before today."""
EVENT_DAYS = 364
"""Events and spend cover this many days before today."""
BATCH_CONTACTS = 2_000
"""Contacts generated and written per batch (with their events)."""

_FIRST_NAMES = (
    "Ava Liam Olivia Noah Emma Oliver Mia Elijah Sofia Lucas Amelia Mateo Isla Leo Chloe "
    "Ethan Hannah Jonas Grace Finn Zoe Arjun Maya Kai Lena Omar Nora Diego Freya Hugo Priya "
    "Theo Aisha Felix Ruby Samuel Clara Wei Lucy Max"
)
_LAST_NAMES = (
    "Smith Johnson Brown Garcia Miller Davis Martinez Wilson Taylor Clark Lewis Walker Hall "
    "Young King Wright Lopez Hill Green Baker Nelson Carter Mitchell Roberts Turner Phillips "
    "Campbell Parker Evans Edwards Collins Stewart Morris Murphy Cook Rogers Morgan Cooper "
    "Schmidt Fischer"
)
FIRST_NAMES = tuple(_FIRST_NAMES.split())
LAST_NAMES = tuple(_LAST_NAMES.split())


@dataclass(frozen=True)
class _Place:
    country: str
    region: str
    timezone: str
    phone_prefix: str
    weight: int


PLACES = (
    _Place("US", "Americas", "America/New_York", "+1555", 22),
    _Place("US", "Americas", "America/Chicago", "+1555", 14),
    _Place("US", "Americas", "America/Los_Angeles", "+1555", 16),
    _Place("CA", "Americas", "America/Toronto", "+1555", 6),
    _Place("GB", "Europe", "Europe/London", "+447700", 14),
    _Place("DE", "Europe", "Europe/Berlin", "+49155", 10),
    _Place("FR", "Europe", "Europe/Paris", "+33655", 6),
    _Place("AU", "APAC", "Australia/Sydney", "+61491", 12),
)

BEST_SLOT = {"Americas": (1, 10), "Europe": (3, 9), "APAC": (2, 19)}
"""The planted truth: the local (weekday, hour) at which each region opens email best."""
SEND_HOURS = (8, 9, 10, 11, 13, 16, 19)
"""Local hours the email program sends at (Monday to Friday), so slots can be compared."""
SMS_HOURS = (12, 14, 17)

EMAIL_THEMES = ("newsletter", "new-arrivals", "style-guide", "weekend-edit", "restock")
SMS_THEMES = ("flash-sale", "early-access", "back-in-stock")
PAID_CAMPAIGNS = {
    "search": "search-always-on",
    "social": "social-prospecting",
    "display": "display-retargeting",
    "web": "",
}
PURCHASE_CHANNELS = ("email", "sms", "search", "social", "display", "web")
PURCHASE_WEIGHTS = (30, 8, 22, 15, 5, 20)

EMAIL_REACH = 0.25
"""Share of email contacts each weekly email reaches (at cadence 1)."""
EARLY_ACCESS_REACH = 0.4
"""Share reached by each of the two early-access emails in the last week (at cadence 1)."""
SMS_REACH = 0.4
"""Share of SMS contacts each fortnightly SMS reaches (at cadence 1)."""
CLICK_GIVEN_OPEN = 0.13
"""Chance that an opened program email is clicked."""

AB_TEST_THEME = "gift-guide"
AB_TEST_WEEKS_BEFORE_LAST_REPEAT = 3
AB_CLICK_GIVEN_OPEN = {"A": 0.34, "B": 0.51}
"""The planted A/B truth: variant B's creative gets clicked 50% more often once opened.

Opens do not depend on the variant, so clicks per send rise by the same +50% (about 8%
against 12%). The test goes to every email contact (at cadence 1), about 78% of the
contacts: roughly 1,170 sends per variant at 3,000 contacts, where a two-proportion
z-test has about 90% power (z was 2.8 to 4.8 over ten seeds); z is about 4.5 at 6,000
contacts and about 8 at 20,000.
"""

FATIGUING_CAMPAIGN = "email-trail-essentials"
"""The planted fatigue truth: re-sent weekly to one cohort, its click rate decays."""
STEADY_CAMPAIGN = "email-member-picks"
"""Re-sent weekly to another cohort just as often; its click rate stays flat (the control)."""
REPEAT_SENDS = 8
"""Weekly sends of each repeated creative, ending before the last week."""
REPEAT_COHORT = 0.22
"""Share of email contacts in each repeated creative's cohort (at cadence 1)."""
FATIGUE_DECAY = 0.15
"""Clicks per send of the fatiguing creative fall by this share with every repeat."""
REPEAT_CLICK_GIVEN_OPEN = {FATIGUING_CAMPAIGN: 0.36, STEADY_CAMPAIGN: 0.30}
"""Chance an opened repeated email is clicked (on the first exposure, for the fatiguing one)."""

ANOMALY_CHANNEL = "search"
ANOMALY_METRIC = "spend"
ANOMALY_FACTOR = 4.0
"""The planted anomaly: a runaway bid multiplies one day's search spend by this factor."""
ANOMALY_DAYS_AGO = 70
"""The anomaly falls on the Wednesday on or before this many days before today."""

EMAIL_PER_SEND = 0.012
SMS_PER_SEND = 0.045
EMAIL_DAILY_FEE = 0.1
SMS_DAILY_FEE = 0.05
"""Platform fees per day for every thousand contacts."""
PAID_DAILY_PER_1000 = {"search": 12.0, "social": 9.0, "display": 4.0}
"""Paid media spend per day for every thousand contacts."""
SOCIAL_PUSH_DAYS = 28
"""The last weeks carry a social push (+35% spend), a trend the research tool should see."""

PILOT_CONTACTS = 2_000
"""Contacts drawn (from a separate stream, never written) to calibrate `target_events`."""
MIN_CADENCE = 0.05
MAX_CADENCE = 2.5
"""Cadence limits: above 2.5 the fortnightly SMS would reach everyone and stop scaling."""

BRAND = {
    "name": "Northwind Outfitters",
    "voice": (
        "Warm, practical and outdoorsy. Plain words, short sentences, no hype; we talk like "
        "a friend who knows the trail and respects your inbox."
    ),
    "sender_name": "Maya at Northwind",
    "tagline": "Gear that goes the distance.",
    "banned_phrases": ["guaranteed", "risk-free", "miracle", "act now", "cure"],
    "required_disclaimers": ["You are receiving this because you opted in to Northwind updates."],
    "competitors": ["Summit Supply Co.", "Trailhead Goods", "Evergreen Outdoor"],
}

_CONTACT_SQL = (
    "INSERT INTO contact (id, email, first_name, last_name, phone, country, region, "
    "timezone, created_at, email_consent, sms_consent, push_consent, unsubscribed, "
    "bounced, lifetime_value, orders, last_purchase_at, attributes) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Event ids are left to SQLite: the table was just emptied, so rowids count up from 1 in
# insertion order and the same seed still gives the same ids.
_EVENT_SQL = (
    "INSERT INTO event (contact_id, channel, event, campaign, variant, occurred_at, revenue) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_BULK_CACHE_KIB = 256 * 1024
"""Page cache while the bulk insert and the index rebuild run."""

# Kinds of email in the calendar. Purchases are credited only to kinds below _PLANTED_AB.
_NULL_AB = -1
"""A weekly email split into variants A and B that perform the same."""
_WEEKLY = 0
_EARLY = 1
_PLANTED_AB = 2
_REPEAT = 3


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


DEMO_NOTES: tuple[tuple[Literal["competitor", "brief", "research", "other"], str, str], ...] = (
    (
        "competitor",
        "Summit Supply spring sale",
        "Summit Supply ran 30% off trail running shoes for two weeks in March, by email and "
        "Instagram. Their lapsed-customer email led with free returns, not the discount.",
    ),
    (
        "competitor",
        "Ridgeline Co. loyalty programme",
        "Ridgeline launched points for repeat buyers; VIP customers get early access to new "
        "jackets. Worth watching for our winback and launch timing.",
    ),
    (
        "research",
        "Winback survey, October",
        "Lapsed customers said they left because of sizing and shipping costs. A free-exchange "
        "message tested better than a discount in interviews.",
    ),
    (
        "research",
        "SMS opt-in trends",
        "SMS consent grows fastest among customers under 35; they prefer short texts and "
        "dislike more than two texts a week.",
    ),
    (
        "brief",
        "Holiday plan notes",
        "Keep holiday promotions within the email budget; no sends on Sundays; launch the new "
        "rain shell collection to active customers first.",
    ),
)
"""A few notes so the research specialist has something to search in the demo."""


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
        cadence = _cadence_for(target_events, contacts=contacts, seed=seed, today=today)
    conn = session.connection()
    gen = _Generator(random.Random(seed), today, cadence)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    previous_cache = cursor.execute("PRAGMA main.cache_size").fetchone()[0]
    cursor.execute(f"PRAGMA main.cache_size = -{_BULK_CACHE_KIB}")
    try:
        _clear_workspace(conn)
        _insert_brand(conn)
        # Filling tables with their secondary indexes dropped and building the indexes
        # once afterwards is several times faster than updating them row by row. DDL is
        # transactional in SQLite: a failure rolls the indexes back with the rows.
        indexes = _drop_indexes(conn, ("event", "contact"))
        total_events = purchases = purchasers = lapsed = 0
        lapsed_before = gen.today_s - 90 * 86_400
        for contact_rows, event_rows, last_purchases in gen.batches(contacts):
            cursor.executemany(_CONTACT_SQL, contact_rows)
            cursor.executemany(_EVENT_SQL, event_rows)
            total_events += len(event_rows)
            for row, last_purchase in zip(contact_rows, last_purchases, strict=True):
                if last_purchase is not None:
                    purchasers += 1
                    purchases += row[15]  # the contact's order count
                    lapsed += last_purchase <= lapsed_before
        for statement in indexes:
            conn.exec_driver_sql(statement)
    finally:
        cursor.execute(f"PRAGMA main.cache_size = {previous_cache}")
        cursor.close()

    spend_rows = gen.spend_rows(contacts)
    conn.exec_driver_sql(
        "INSERT INTO spend (id, date, channel, campaign, spend) VALUES (?, ?, ?, ?, ?)",
        spend_rows,
    )
    conn.exec_driver_sql(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [("workspace_source", "demo"), ("demo_seed", str(seed))],
    )
    for kind, title, body in DEMO_NOTES:
        noted = datetime.combine(today - timedelta(days=14), time(9), tzinfo=UTC)
        add_note(session, kind=kind, title=title, body=body, now=noted, source="demo")
    touch_workspace(session)
    return DemoStats(
        seed=seed,
        today=today,
        contacts=contacts,
        events=total_events,
        spend_rows=len(spend_rows),
        purchases=purchases,
        purchasers=purchasers,
        lapsed_purchasers=lapsed,
        lapsed_share=round(lapsed / purchasers, 4) if purchasers else 0.0,
        target_events=target_events,
        cadence=round(cadence, 4),
        best_send_slots=dict(BEST_SLOT),
        ab_test_campaign=gen.ab_test_campaign,
        ab_test_winner="B",
        ab_test_lift=round(AB_CLICK_GIVEN_OPEN["B"] / AB_CLICK_GIVEN_OPEN["A"] - 1, 4),
        ab_test_sends=dict(gen.ab_sends),
        ab_test_clicks=dict(gen.ab_clicks),
        fatiguing_campaign=FATIGUING_CAMPAIGN,
        fatigue_decay=FATIGUE_DECAY,
        steady_campaign=STEADY_CAMPAIGN,
        repeat_sends=REPEAT_SENDS,
        anomaly_date=gen.origin + timedelta(days=gen.anomaly_day),
        anomaly_channel=ANOMALY_CHANNEL,
        anomaly_metric=ANOMALY_METRIC,
        anomaly_factor=ANOMALY_FACTOR,
    )


def _cadence_for(target_events: int, *, contacts: int, seed: int, today: date) -> float:
    """The cadence at which `contacts` contacts make about `target_events` events.

    Events per contact grow almost linearly with the cadence, so the cadence is found by
    regula falsi on a pilot sample drawn from its own stream (the same pilot at every
    cadence, so the comparisons are not blurred by sampling noise).
    """
    if target_events < 0:
        raise ValueError("target_events must be zero or more")
    if contacts == 0:
        if target_events:
            raise ValueError("target_events needs at least one contact")
        return 1.0
    wanted = target_events / contacts

    def per_contact(cadence: float) -> float:
        pilot = _Generator(random.Random(f"pilot:{seed}"), today, cadence)
        return sum(len(pilot.contact(cid)[1]) for cid in range(1, PILOT_CONTACTS + 1)) / (
            PILOT_CONTACTS
        )

    low, high = (MIN_CADENCE, per_contact(MIN_CADENCE)), (MAX_CADENCE, per_contact(MAX_CADENCE))
    if not low[1] <= wanted <= high[1]:
        raise ValueError(
            f"target_events of {target_events:,} for {contacts:,} contacts is "
            f"{wanted:.1f} per contact; the demo calendar makes {low[1]:.1f} to "
            f"{high[1]:.1f} per contact"
        )
    cadence = low[0]
    for _ in range(4):
        cadence = low[0] + (wanted - low[1]) * (high[0] - low[0]) / (high[1] - low[1])
        made = per_contact(cadence)
        if abs(made - wanted) <= 0.01 * wanted:
            break
        if made < wanted:
            low = (cadence, made)
        else:
            high = (cadence, made)
    return cadence


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


def _drop_indexes(conn: Connection, tables: tuple[str, ...]) -> list[str]:
    """Drop the tables' declared indexes; return the statements that recreate them.

    Only indexes with their own CREATE statement go; the ones behind PRIMARY KEY and
    UNIQUE constraints stay (SQLite cannot drop them).
    """
    rows = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({', '.join('?' for _ in tables)}) ORDER BY name",
        tables,
    ).all()
    for name, _ in rows:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [sql for _, sql in rows]


def _insert_brand(conn: Connection) -> None:
    conn.exec_driver_sql(
        "INSERT INTO brandprofile (id, name, voice, sender_name, tagline, banned_phrases, "
        "required_disclaimers, competitors) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            1,
            BRAND["name"],
            BRAND["voice"],
            BRAND["sender_name"],
            BRAND["tagline"],
            json.dumps(BRAND["banned_phrases"]),
            json.dumps(BRAND["required_disclaimers"]),
            json.dumps(BRAND["competitors"]),
        ),
    )


def _log_miss(reach: float) -> float:
    """log(1 - reach): a contact's gap to the next campaign is floor(log(U) / log(1 - reach))."""
    return math.log1p(-reach) if reach < 1 else -math.inf


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


class _Generator:
    """Draws contacts and their histories from one random stream, in a fixed order.

    Times are whole seconds since UTC midnight `HISTORY_DAYS + 7` days before today,
    formatted the way SQLAlchemy stores datetimes in SQLite only when a row is written.
    `cadence` multiplies the reach of every email and SMS campaign.
    """

    def __init__(self, rng: random.Random, today: date, cadence: float = 1.0) -> None:
        self.rng = rng
        self.rand = rng.random
        self.origin = today - timedelta(days=HISTORY_DAYS + 7)
        self.today_day = HISTORY_DAYS + 7
        self.today_s = self.today_day * 86_400
        self.window_day = self.today_day - EVENT_DAYS
        self.window_s = self.window_day * 86_400
        days = self.today_day + 8
        self.day_iso = [(self.origin + timedelta(days=d)).isoformat() for d in range(days)]
        self.day_prefix = [f"{text} " for text in self.day_iso]
        self.clock = _clock()
        self.weekdays = [(self.origin.weekday() + d) % 7 for d in range(days)]
        self.offsets = {p.timezone: _utc_offsets(p.timezone, self.origin, days) for p in PLACES}
        self.place_cum = list(itertools.accumulate(p.weight for p in PLACES))
        self.purchase_cum = list(itertools.accumulate(PURCHASE_WEIGHTS))
        self.email_reach = min(1.0, EMAIL_REACH * cadence)
        self.sms_reach = min(1.0, SMS_REACH * cadence)
        self.repeat_reach = min(1.0, REPEAT_COHORT * cadence)
        self.email_sends_by_day = [0] * days
        self.sms_sends_by_day = [0] * days
        self.ab_sends = {"A": 0, "B": 0}
        self.ab_clicks = {"A": 0, "B": 0}
        self.ab_test_campaign = ""
        self.email_campaigns = self._email_campaigns(cadence)
        self.program_campaigns = [c for c in self.email_campaigns if c[3] in (_NULL_AB, _WEEKLY)]
        self.other_campaigns = [c for c in self.email_campaigns if c[3] not in (_NULL_AB, _WEEKLY)]
        self.sms_campaigns = self._sms_campaigns()
        self.email_log_miss = _log_miss(self.email_reach)
        self.sms_log_miss = _log_miss(self.sms_reach)
        day = self.today_day - ANOMALY_DAYS_AGO
        while self.weekdays[day] != 2:
            day -= 1
        self.anomaly_day = day

    # --- calendar ---------------------------------------------------------------------

    def _email_campaigns(self, cadence: float) -> list[tuple[str, int, int, int, float]]:
        """(name, first day index, days it spreads over, kind, reach) for every email.

        The weekly email goes out Monday to Friday at each contact's slot (every fourth
        one as an A/B test without a real difference); two one-day early-access emails
        in the last week push some contacts over the frequency cap. Two creatives are
        re-sent weekly to fixed cohorts in the weeks before the last one, and one more
        email is the A/B test with a real winner.
        """
        first = self.window_day
        while self.weekdays[first] != 0:
            first += 1
        mondays = list(range(first, self.today_day, 7))
        campaigns = []
        for week, monday in enumerate(mondays):
            theme = EMAIL_THEMES[week % len(EMAIL_THEMES)]
            kind = _NULL_AB if week % 4 == 3 else _WEEKLY
            campaigns.append(
                (f"email-{self.day_iso[monday]}-{theme}", monday, 5, kind, self.email_reach)
            )
        early_reach = min(1.0, EARLY_ACCESS_REACH * cadence)
        for day in (self.today_day - 4, self.today_day - 2):
            campaigns.append(
                (f"email-{self.day_iso[day]}-early-access", day, 1, _EARLY, early_reach)
            )
        # The repeated creatives end a week before today, clear of the frequency-cap week.
        last_repeat = max(m for m in mondays if m + 4 <= self.today_day - 8)
        for k in range(REPEAT_SENDS - 1, -1, -1):
            for name in (FATIGUING_CAMPAIGN, STEADY_CAMPAIGN):
                campaigns.append((name, last_repeat - 7 * k, 5, _REPEAT, 1.0))
        ab_monday = last_repeat - 7 * AB_TEST_WEEKS_BEFORE_LAST_REPEAT
        self.ab_test_campaign = f"email-{self.day_iso[ab_monday]}-{AB_TEST_THEME}"
        campaigns.append((self.ab_test_campaign, ab_monday, 5, _PLANTED_AB, min(1.0, cadence)))
        return campaigns

    def _sms_campaigns(self) -> list[tuple[str, int]]:
        """(name, day index) for the fortnightly Friday SMS."""
        first = self.window_day
        while self.weekdays[first] != 4:
            first += 1
        return [
            (f"sms-{self.day_iso[day]}-{SMS_THEMES[i % len(SMS_THEMES)]}", day)
            for i, day in enumerate(range(first, self.today_day, 14))
        ]

    def gap(self, log_miss: float) -> int:
        """Campaigns skipped before the next one a contact gets (geometric, see _log_miss).

        Drawing the gap instead of one coin per campaign keeps a million contacts at a low
        cadence cheap: the work follows the sends, not the length of the calendar.
        """
        if log_miss == 0.0:
            return 1 << 30
        return int(math.log(1.0 - self.rand()) / log_miss)

    def text(self, t: int) -> str:
        day, second = divmod(t, 86_400)
        return self.day_prefix[day] + self.clock[second]

    # --- people -----------------------------------------------------------------------

    def batches(
        self, contacts: int
    ) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[int | None]]]:
        """Contact rows, their events and their last purchase times, a batch at a time."""
        for batch_start in range(1, contacts + 1, BATCH_CONTACTS):
            contact_rows: list[tuple[Any, ...]] = []
            event_rows: list[tuple[Any, ...]] = []
            last_purchases: list[int | None] = []
            for cid in range(batch_start, min(batch_start + BATCH_CONTACTS, contacts + 1)):
                row, history, last_purchase = self.contact(cid)
                contact_rows.append(row)
                event_rows += history
                last_purchases.append(last_purchase)
            yield contact_rows, event_rows, last_purchases

    def contact(self, cid: int) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], int | None]:
        """One contact row, its events (without ids) and its last purchase time."""
        rng = self.rng
        rand = self.rand
        today_s = self.today_s
        first = FIRST_NAMES[int(rand() * len(FIRST_NAMES))]
        last = LAST_NAMES[int(rand() * len(LAST_NAMES))]
        place = PLACES[bisect(self.place_cum, rand() * self.place_cum[-1])]
        created = today_s - 86_400 - int(rand() * (HISTORY_DAYS - 1) * 86_400)
        email_ok = rand() < 0.85
        sms_ok = rand() < 0.45
        push_ok = rand() < 0.30
        unsubscribed = rand() < 0.04
        bounced = rand() < 0.02
        engagement = rng.betavariate(2.0, 7.0)
        start = max(created, self.window_s)
        # Unsubscribing stops every send after that moment; a hard bounce stops email.
        stop_at = start + int(rand() * (today_s - start)) if unsubscribed else today_s
        bounce_at = start + int(rand() * (today_s - start)) if bounced else None

        events: list[tuple[Any, ...]] = []
        # Each send is [time, campaign, variant, clicked, a purchase may be credited to it].
        email_sends: list[list[Any]] = []
        bounced_send = None
        if email_ok:
            bounced_send = self._email_history(
                cid, place, engagement, start, stop_at, bounce_at, events, email_sends
            )
        sms_sends: list[list[Any]] = []
        if sms_ok:
            self._sms_history(cid, place, engagement, start, stop_at, events, sms_sends)
        if unsubscribed:
            # The opt-out follows the last message received (a bounced one counts too).
            received = [(s[0], "email", s[1]) for s in email_sends]
            received += [(s[0], "sms", s[1]) for s in sms_sends]
            if bounced_send is not None:
                received.append((bounced_send[0], "email", bounced_send[1]))
            if received:
                sent_at, channel, campaign = max(received)
                at = sent_at + 60 + int(rand() * 7_140)
                if at < today_s:
                    events.append((cid, channel, "unsubscribe", campaign, "", self.text(at), 0.0))

        orders, revenue, last_purchase = self._purchases(cid, start, events, email_sends, sms_sends)
        phone = f"{place.phone_prefix}{int(rand() * 10**7):07d}" if sms_ok else None
        row = (
            cid,
            f"{first.lower()}.{last.lower()}.{cid}@example.com",
            first,
            last,
            phone,
            place.country,
            place.region,
            place.timezone,
            self.text(created),
            email_ok,
            sms_ok,
            push_ok,
            unsubscribed,
            bounced,
            round(revenue, 2),
            orders,
            self.text(last_purchase) if last_purchase is not None else None,
            "{}",
        )
        return row, events, last_purchase

    def _email_history(
        self,
        cid: int,
        place: _Place,
        engagement: float,
        start: int,
        stop_at: int,
        bounce_at: int | None,
        events: list[tuple[Any, ...]],
        sends: list[list[Any]],
    ) -> tuple[int, str] | None:
        """Email sends, opens and clicks; returns the send that bounced, if any."""
        rand = self.rand
        text = self.text
        today_s = self.today_s
        offsets = self.offsets[place.timezone]
        weekdays = self.weekdays
        best_weekday, best_hour = BEST_SLOT[place.region]
        cohorts = {
            FATIGUING_CAMPAIGN: rand() < self.repeat_reach,
            STEADY_CAMPAIGN: rand() < self.repeat_reach,
        }
        chosen = []
        program = self.program_campaigns
        log_miss = self.email_log_miss
        i = self.gap(log_miss)
        while i < len(program):
            chosen.append(program[i])
            i += 1 + self.gap(log_miss)
        for c in self.other_campaigns:
            if cohorts[c[0]] if c[3] == _REPEAT else rand() < c[4]:
                chosen.append(c)
        planned = []
        for campaign, first_day, days, kind, _ in chosen:
            day = first_day + int(rand() * days)
            hour = SEND_HOURS[int(rand() * len(SEND_HOURS))]
            t = day * 86_400 + hour * 3600 + int(rand() * 300) - offsets[day]
            if t < start or t >= stop_at or t >= today_s:
                continue
            split = kind in (_NULL_AB, _PLANTED_AB)
            variant = ("B" if rand() < 0.5 else "A") if split else ""
            planned.append((t, campaign, variant, kind, day, hour))
        # Campaigns overlap; go in time order so a bounce ends the history and repeats count up.
        planned.sort()
        exposures = dict.fromkeys(cohorts, 0)
        for t, campaign, variant, kind, day, hour in planned:
            self.email_sends_by_day[t // 86_400] += 1
            events.append((cid, "email", "send", campaign, variant, text(t), 0.0))
            if kind == _PLANTED_AB:
                self.ab_sends[variant] += 1
            if bounce_at is not None and t >= bounce_at:
                events.append((cid, "email", "bounce", campaign, variant, text(t + 30), 0.0))
                return t, campaign
            if weekdays[day] == best_weekday and hour == best_hour:
                factor = 1.9
            elif 9 <= hour <= 11:
                factor = 1.1
            elif hour == 19:
                factor = 0.9
            else:
                factor = 1.0
            if kind == _PLANTED_AB:
                click_given_open = AB_CLICK_GIVEN_OPEN[variant]
            elif kind == _REPEAT:
                click_given_open = REPEAT_CLICK_GIVEN_OPEN[campaign]
                if campaign == FATIGUING_CAMPAIGN:
                    click_given_open *= (1 - FATIGUE_DECAY) ** exposures[campaign]
                exposures[campaign] += 1
            else:
                click_given_open = CLICK_GIVEN_OPEN
            clicked = False
            if rand() < engagement * factor:
                delay = min(int(-math.log(1.0 - rand()) * 5_400), 172_800)
                opened_at = t + 60 + delay
                if opened_at < today_s:
                    events.append((cid, "email", "open", campaign, variant, text(opened_at), 0.0))
                    if rand() < click_given_open:
                        clicked_at = opened_at + 10 + int(rand() * 890)
                        if clicked_at < today_s:
                            clicked = True
                            events.append(
                                (cid, "email", "click", campaign, variant, text(clicked_at), 0.0)
                            )
                            if kind == _PLANTED_AB:
                                self.ab_clicks[variant] += 1
            # Purchases are credited to program emails only, so the planted click rates of
            # the A/B test and the repeated creatives stay exactly as drawn.
            sends.append([t, campaign, variant, clicked, kind < _PLANTED_AB])
        return None

    def _sms_history(
        self,
        cid: int,
        place: _Place,
        engagement: float,
        start: int,
        stop_at: int,
        events: list[tuple[Any, ...]],
        sends: list[list[Any]],
    ) -> None:
        rand = self.rand
        offsets = self.offsets[place.timezone]
        campaigns = self.sms_campaigns
        log_miss = self.sms_log_miss
        i = self.gap(log_miss)
        while i < len(campaigns):
            campaign, day = campaigns[i]
            i += 1 + self.gap(log_miss)
            hour = SMS_HOURS[int(rand() * len(SMS_HOURS))]
            t = day * 86_400 + hour * 3600 + int(rand() * 600) - offsets[day]
            if t < start or t >= stop_at or t >= self.today_s:
                continue
            self.sms_sends_by_day[t // 86_400] += 1
            events.append((cid, "sms", "send", campaign, "", self.text(t), 0.0))
            clicked = False
            if rand() < engagement * 0.35:
                clicked_at = t + 30 + int(rand() * 3_570)
                if clicked_at < self.today_s:
                    clicked = True
                    events.append((cid, "sms", "click", campaign, "", self.text(clicked_at), 0.0))
            sends.append([t, campaign, "", clicked, True])

    def _purchases(
        self,
        cid: int,
        start: int,
        events: list[tuple[Any, ...]],
        email_sends: list[list[Any]],
        sms_sends: list[list[Any]],
    ) -> tuple[int, float, int | None]:
        """Purchase events (each attributed to a channel) and the contact's order totals."""
        rng = self.rng
        rand = self.rand
        if rand() >= 0.55:
            return 0, 0.0, None
        count = 1
        while count < 8 and rand() < 0.45:
            count += 1
        lapsed_end = self.today_s - 91 * 86_400
        # Each purchase gets a time range: lapsed buyers stop 91 days before today; active
        # buyers have one purchase in the last 89 days and the rest anywhere in the year.
        if rand() < 0.27 and start < lapsed_end:
            ranges = [(start, lapsed_end)] * count
        else:
            recent_start = max(start, self.today_s - 89 * 86_400)
            ranges = [(recent_start, self.today_s)] + [(start, self.today_s)] * (count - 1)
        times: list[int] = []
        revenue_total = 0.0
        purchase_cum = self.purchase_cum
        for low, high in ranges:
            channel = PURCHASE_CHANNELS[bisect(purchase_cum, rand() * purchase_cum[-1])]
            campaign = PAID_CAMPAIGNS.get(channel, "")
            variant = ""
            at = 0
            if channel in ("email", "sms"):
                sends = email_sends if channel == "email" else sms_sends
                # An owned-channel purchase follows a click on a message the contact got.
                usable = [s for s in sends if s[4] and low <= s[0] and s[0] + 600 < high]
                if usable:
                    send = usable[int(rand() * len(usable))]
                    campaign, variant = send[1], send[2]
                    at = send[0] + 600 + int(rand() * (min(2 * 86_400, high - send[0]) - 600))
                    if not send[3]:
                        send[3] = True
                        clicked_at = at - 60 - int(rand() * (min(3_600, at - send[0]) - 60))
                        events.append(
                            (cid, channel, "click", campaign, variant, self.text(clicked_at), 0.0)
                        )
                else:
                    channel, campaign = "web", ""
            if not at:
                at = low + int(rand() * (high - low))
            times.append(at)
            revenue = round(rng.lognormvariate(4.1, 0.45), 2)
            revenue_total += revenue
            events.append((cid, channel, "purchase", campaign, variant, self.text(at), revenue))
        return len(times), revenue_total, max(times)

    # --- money ------------------------------------------------------------------------

    def spend_rows(self, contacts: int) -> list[tuple[Any, ...]]:
        """Daily spend per channel: owned channels per message sent, paid media per day."""
        rng = self.rng
        scale = contacts / 1000
        rows: list[tuple[Any, ...]] = []
        ids = itertools.count(1)
        for day in range(self.window_day, self.today_day):
            weekend = 0.8 if self.weekdays[day] >= 5 else 1.0
            push = 1.35 if day >= self.today_day - SOCIAL_PUSH_DAYS else 1.0
            amounts = {
                "email": EMAIL_PER_SEND * self.email_sends_by_day[day] + EMAIL_DAILY_FEE * scale,
                "sms": SMS_PER_SEND * self.sms_sends_by_day[day] + SMS_DAILY_FEE * scale,
            }
            for channel, per_1000 in PAID_DAILY_PER_1000.items():
                noise = min(1.25, max(0.75, 1 + rng.gauss(0, 0.08)))
                factor = push if channel == "social" else 1.0
                amounts[channel] = per_1000 * scale * weekend * factor * noise
            if day == self.anomaly_day:
                amounts[ANOMALY_CHANNEL] *= ANOMALY_FACTOR
            for channel in ("email", "sms", "search", "social", "display"):
                campaign = PAID_CAMPAIGNS.get(channel) or f"{channel}-program"
                rows.append(
                    (next(ids), self.day_iso[day], channel, campaign, round(amounts[channel], 2))
                )
        return rows
