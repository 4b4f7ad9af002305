"""A deterministic demo workspace: a fictional brand, its contacts, a year of events and spend."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy.engine import Connection
from sqlmodel import Session

HISTORY_DAYS = 3 * 365
"""Contacts joined within this many days before today."""
EVENT_DAYS = 364
"""Events and spend cover this many days before today."""
BATCH_CONTACTS = 2_000

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

EMAIL_PER_SEND = 0.012
SMS_PER_SEND = 0.045
EMAIL_DAILY_FEE = 0.1
SMS_DAILY_FEE = 0.05
"""Platform fees per day for every thousand contacts."""
PAID_DAILY_PER_1000 = {"search": 12.0, "social": 9.0, "display": 4.0}
"""Paid media spend per day for every thousand contacts."""
SOCIAL_PUSH_DAYS = 28
"""The last weeks carry a social push (+35% spend), a trend the research tool should see."""

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


class DemoStats(BaseModel):
    """What generate_demo_workspace wrote."""

    seed: int
    today: date
    contacts: int
    events: int
    spend_rows: int
    purchases: int
    purchasers: int
    lapsed_purchasers: int
    """Purchasers whose last purchase was 90 to 365 days before today."""


def generate_demo_workspace(
    session: Session, *, contacts: int = 20_000, seed: int = 7, today: date
) -> DemoStats:
    """Replace the workspace with generated demo data; same seed and today give the same rows.

    Planted truths the tools should recover: about a quarter of purchasers lapsed
    (last purchase 90-365 days ago); email opens best on Tuesday 10:00 local in the
    Americas, Thursday 09:00 in Europe and Wednesday 19:00 in APAC; SMS costs more
    per conversion than email; social spend rose in the last four weeks; two extra
    emails in the last week put some contacts over a 3-per-7-days frequency cap.
    """
    if contacts < 0:
        raise ValueError("contacts must be zero or more")
    conn = session.connection()
    _clear_workspace(conn)
    _insert_brand(conn)

    gen = _Generator(random.Random(seed), today)
    event_ids = itertools.count(1)
    total_events = purchases = purchasers = lapsed = 0
    lapsed_before = gen.today_s - 90 * 86_400
    for batch_start in range(1, contacts + 1, BATCH_CONTACTS):
        contact_rows: list[tuple[Any, ...]] = []
        event_rows: list[tuple[Any, ...]] = []
        for cid in range(batch_start, min(batch_start + BATCH_CONTACTS, contacts + 1)):
            row, history, last_purchase = gen.contact(cid)
            contact_rows.append(row)
            event_rows.extend((next(event_ids), *event) for event in history)
            if last_purchase is not None:
                purchasers += 1
                purchases += row[15]  # the contact's order count
                lapsed += last_purchase <= lapsed_before
        conn.exec_driver_sql(
            "INSERT INTO contact (id, email, first_name, last_name, phone, country, region, "
            "timezone, created_at, email_consent, sms_consent, push_consent, unsubscribed, "
            "bounced, lifetime_value, orders, last_purchase_at, attributes) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            contact_rows,
        )
        if event_rows:
            conn.exec_driver_sql(
                "INSERT INTO event (id, contact_id, channel, event, campaign, variant, "
                "occurred_at, revenue) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                event_rows,
            )
        total_events += len(event_rows)

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
    return DemoStats(
        seed=seed,
        today=today,
        contacts=contacts,
        events=total_events,
        spend_rows=len(spend_rows),
        purchases=purchases,
        purchasers=purchasers,
        lapsed_purchasers=lapsed,
    )


def _clear_workspace(conn: Connection) -> None:
    # Children first: foreign keys are enforced.
    conn.exec_driver_sql("DELETE FROM delivery WHERE contact_id IN (SELECT id FROM contact)")
    conn.exec_driver_sql("DELETE FROM segmentmember")
    conn.exec_driver_sql("DELETE FROM event")
    conn.exec_driver_sql("DELETE FROM contact")
    conn.exec_driver_sql("DELETE FROM spend")
    conn.exec_driver_sql("DELETE FROM brandprofile")


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


class _Generator:
    """Draws contacts and their histories from one random stream, in a fixed order.

    Times are whole seconds since UTC midnight `HISTORY_DAYS + 7` days before today,
    formatted the way SQLAlchemy stores datetimes in SQLite only when a row is written.
    """

    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.origin = today - timedelta(days=HISTORY_DAYS + 7)
        self.origin_weekday = self.origin.weekday()
        self.today_day = HISTORY_DAYS + 7
        self.today_s = self.today_day * 86_400
        self.window_day = self.today_day - EVENT_DAYS
        self.window_s = self.window_day * 86_400
        self.day_text = [
            (self.origin + timedelta(days=d)).isoformat() for d in range(self.today_day + 8)
        ]
        self.cum_weights = list(itertools.accumulate(p.weight for p in PLACES))
        self.purchase_cum = list(itertools.accumulate(PURCHASE_WEIGHTS))
        self._offsets: dict[tuple[str, int], int] = {}
        self.email_sends_by_day: Counter[int] = Counter()
        self.sms_sends_by_day: Counter[int] = Counter()
        self.email_campaigns = self._email_campaigns()
        self.sms_campaigns = self._sms_campaigns()

    # --- calendar ---------------------------------------------------------------------

    def _email_campaigns(self) -> list[tuple[str, int, int, bool]]:
        """(name, first day index, days it spreads over, is an A/B test) for every email.

        The weekly email goes out Monday to Friday at each contact's slot; two one-day
        early-access emails in the last week push some contacts over the frequency cap.
        """
        first = self.window_day
        while (self.origin + timedelta(days=first)).weekday() != 0:
            first += 1
        campaigns = []
        for week, monday in enumerate(range(first, self.today_day, 7)):
            theme = EMAIL_THEMES[week % len(EMAIL_THEMES)]
            campaigns.append((f"email-{self.day_text[monday]}-{theme}", monday, 5, week % 4 == 3))
        for day in (self.today_day - 4, self.today_day - 2):
            campaigns.append((f"email-{self.day_text[day]}-early-access", day, 1, False))
        return campaigns

    def _sms_campaigns(self) -> list[tuple[str, int]]:
        """(name, day index) for the fortnightly Friday SMS."""
        first = self.window_day
        while (self.origin + timedelta(days=first)).weekday() != 4:
            first += 1
        return [
            (f"sms-{self.day_text[day]}-{SMS_THEMES[i % len(SMS_THEMES)]}", day)
            for i, day in enumerate(range(first, self.today_day, 14))
        ]

    def offset(self, timezone: str, day: int) -> int:
        """Seconds the zone is ahead of UTC on that day (daylight saving included)."""
        key = (timezone, day)
        cached = self._offsets.get(key)
        if cached is None:
            d = self.origin + timedelta(days=day)
            local_noon = datetime(d.year, d.month, d.day, 12, tzinfo=ZoneInfo(timezone))
            delta = local_noon.utcoffset()
            cached = int(delta.total_seconds()) if delta is not None else 0
            self._offsets[key] = cached
        return cached

    def weekday(self, day: int) -> int:
        """0 = Monday, for a day index."""
        return (self.origin_weekday + day) % 7

    def text(self, t: int) -> str:
        day, rest = divmod(t, 86_400)
        hour, rest = divmod(rest, 3600)
        minute, second = divmod(rest, 60)
        return f"{self.day_text[day]} {hour:02d}:{minute:02d}:{second:02d}.000000"

    # --- people -----------------------------------------------------------------------

    def contact(self, cid: int) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], int | None]:
        """One contact row, its events (without ids) and its last purchase time."""
        rng = self.rng
        today_s = self.today_s
        first = FIRST_NAMES[rng.randrange(len(FIRST_NAMES))]
        last = LAST_NAMES[rng.randrange(len(LAST_NAMES))]
        place = rng.choices(PLACES, cum_weights=self.cum_weights)[0]
        created = today_s - rng.randrange(86_400, HISTORY_DAYS * 86_400)
        email_ok = rng.random() < 0.85
        sms_ok = rng.random() < 0.45
        push_ok = rng.random() < 0.30
        unsubscribed = rng.random() < 0.04
        bounced = rng.random() < 0.02
        engagement = rng.betavariate(2.0, 7.0)
        start = max(created, self.window_s)
        # Unsubscribing stops every send after that moment; a hard bounce stops email.
        stop_at = rng.randrange(start, today_s) if unsubscribed else today_s
        bounce_at = rng.randrange(start, today_s) if bounced else None

        events: list[tuple[Any, ...]] = []
        email_sends: list[list[Any]] = []  # [time, campaign, variant, clicked]
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
            received = [(t, "email", c) for t, c, *_ in email_sends]
            received += [(t, "sms", c) for t, c, *_ in sms_sends]
            if bounced_send is not None:
                received.append((bounced_send[0], "email", bounced_send[1]))
            if received:
                sent_at, channel, campaign = max(received)
                at = sent_at + rng.randrange(60, 7_200)
                if at < today_s:
                    events.append((cid, channel, "unsubscribe", campaign, "", self.text(at), 0.0))

        orders, revenue, last_purchase = self._purchases(
            cid, created, start, events, email_sends, sms_sends
        )
        phone = f"{place.phone_prefix}{rng.randrange(10**7):07d}" if sms_ok else None
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
        """Weekly email sends, opens and clicks; returns the send that bounced, if any."""
        rng = self.rng
        text = self.text
        best_weekday, best_hour = BEST_SLOT[place.region]
        planned = []
        for campaign, first_day, days, ab_test in self.email_campaigns:
            if rng.random() >= 0.35:
                continue
            day = first_day + rng.randrange(days)
            hour = SEND_HOURS[rng.randrange(len(SEND_HOURS))]
            t = day * 86_400 + hour * 3600 + rng.randrange(300) - self.offset(place.timezone, day)
            if t < start or t >= stop_at or t >= self.today_s:
                continue
            variant = ("A", "B")[rng.randrange(2)] if ab_test else ""
            planned.append((t, campaign, variant, self.weekday(day), hour))
        # Campaigns overlap in the last week; go in time order so a bounce ends the history.
        planned.sort()
        for t, campaign, variant, weekday, hour in planned:
            self.email_sends_by_day[t // 86_400] += 1
            events.append((cid, "email", "send", campaign, variant, text(t), 0.0))
            if bounce_at is not None and t >= bounce_at:
                events.append((cid, "email", "bounce", campaign, variant, text(t + 30), 0.0))
                return t, campaign
            if weekday == best_weekday and hour == best_hour:
                factor = 1.9
            elif 9 <= hour <= 11:
                factor = 1.1
            elif hour == 19:
                factor = 0.9
            else:
                factor = 1.0
            clicked = False
            if rng.random() < engagement * factor:
                opened_at = t + 60 + min(int(rng.expovariate(1 / 5_400)), 172_800)
                if opened_at < self.today_s:
                    events.append((cid, "email", "open", campaign, variant, text(opened_at), 0.0))
                    if rng.random() < 0.13:
                        clicked_at = opened_at + rng.randrange(10, 900)
                        if clicked_at < self.today_s:
                            clicked = True
                            events.append(
                                (cid, "email", "click", campaign, variant, text(clicked_at), 0.0)
                            )
            sends.append([t, campaign, variant, clicked])
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
        rng = self.rng
        for campaign, day in self.sms_campaigns:
            if rng.random() >= 0.4:
                continue
            hour = SMS_HOURS[rng.randrange(len(SMS_HOURS))]
            t = day * 86_400 + hour * 3600 + rng.randrange(600) - self.offset(place.timezone, day)
            if t < start or t >= stop_at or t >= self.today_s:
                continue
            self.sms_sends_by_day[t // 86_400] += 1
            events.append((cid, "sms", "send", campaign, "", self.text(t), 0.0))
            clicked = False
            if rng.random() < engagement * 0.35:
                clicked_at = t + rng.randrange(30, 3_600)
                if clicked_at < self.today_s:
                    clicked = True
                    events.append((cid, "sms", "click", campaign, "", self.text(clicked_at), 0.0))
            sends.append([t, campaign, "", clicked])

    def _purchases(
        self,
        cid: int,
        created: int,
        start: int,
        events: list[tuple[Any, ...]],
        email_sends: list[list[Any]],
        sms_sends: list[list[Any]],
    ) -> tuple[int, float, int | None]:
        """Purchase events (each attributed to a channel) and the contact's order totals."""
        rng = self.rng
        if rng.random() >= 0.55:
            return 0, 0.0, None
        count = 1
        while count < 8 and rng.random() < 0.45:
            count += 1
        lapsed_end = self.today_s - 91 * 86_400
        # Each purchase gets a time range: lapsed buyers stop 91 days before today; active
        # buyers have one purchase in the last 89 days and the rest anywhere in the year.
        if rng.random() < 0.27 and start < lapsed_end:
            ranges = [(start, lapsed_end)] * count
        else:
            recent_start = max(start, self.today_s - 89 * 86_400)
            ranges = [(recent_start, self.today_s)] + [(start, self.today_s)] * (count - 1)
        times: list[int] = []
        revenue_total = 0.0
        for low, high in ranges:
            channel = rng.choices(PURCHASE_CHANNELS, cum_weights=self.purchase_cum)[0]
            campaign = PAID_CAMPAIGNS.get(channel, "")
            variant = ""
            at = 0
            if channel in ("email", "sms"):
                sends = email_sends if channel == "email" else sms_sends
                # An owned-channel purchase follows a click on a message the contact got.
                usable = [send for send in sends if low <= send[0] and send[0] + 600 < high]
                if usable:
                    send = usable[rng.randrange(len(usable))]
                    campaign, variant = send[1], send[2]
                    at = send[0] + rng.randrange(600, min(2 * 86_400, high - send[0]))
                    if not send[3]:
                        send[3] = True
                        clicked_at = at - rng.randrange(60, min(3_600, at - send[0]))
                        events.append(
                            (cid, channel, "click", campaign, variant, self.text(clicked_at), 0.0)
                        )
                else:
                    channel, campaign = "web", ""
            if not at:
                at = rng.randrange(low, high)
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
            weekday = (self.origin + timedelta(days=day)).weekday()
            weekend = 0.8 if weekday >= 5 else 1.0
            push = 1.35 if day >= self.today_day - SOCIAL_PUSH_DAYS else 1.0
            amounts = {
                "email": EMAIL_PER_SEND * self.email_sends_by_day[day] + EMAIL_DAILY_FEE * scale,
                "sms": SMS_PER_SEND * self.sms_sends_by_day[day] + SMS_DAILY_FEE * scale,
            }
            for channel, per_1000 in PAID_DAILY_PER_1000.items():
                noise = min(1.25, max(0.75, 1 + rng.gauss(0, 0.08)))
                factor = push if channel == "social" else 1.0
                amounts[channel] = per_1000 * scale * weekend * factor * noise
            for channel in ("email", "sms", "search", "social", "display"):
                campaign = PAID_CAMPAIGNS.get(channel) or f"{channel}-program"
                rows.append(
                    (next(ids), self.day_text[day], channel, campaign, round(amounts[channel], 2))
                )
        return rows
