"""The demo's contacts: people, places and consent, drawn with their histories from one stream."""

from __future__ import annotations

import itertools
import random
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from workspace.demo.calendar import Calendar
from workspace.demo.messages import Messages
from workspace.demo.purchases import draw_purchases
from workspace.demo.timeline import HISTORY_DAYS, Timeline

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
_PLACE_CUM = list(itertools.accumulate(p.weight for p in PLACES))


class ContactStream:
    """Draws contacts and their histories from one random stream, in a fixed order.

    `cadence` multiplies the reach of every email and SMS campaign.
    """

    def __init__(self, rng: random.Random, today: date, cadence: float = 1.0) -> None:
        self.rng = rng
        self.rand = rng.random
        self.timeline = Timeline(today, (p.timezone for p in PLACES))
        self.calendar = Calendar(self.timeline, cadence)
        self.messages = Messages(rng, self.timeline, self.calendar)

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
        timeline = self.timeline
        messages = self.messages
        today_s = timeline.today_s
        first = FIRST_NAMES[int(rand() * len(FIRST_NAMES))]
        last = LAST_NAMES[int(rand() * len(LAST_NAMES))]
        place = PLACES[bisect(_PLACE_CUM, rand() * _PLACE_CUM[-1])]
        created = today_s - 86_400 - int(rand() * (HISTORY_DAYS - 1) * 86_400)
        email_ok = rand() < 0.85
        sms_ok = rand() < 0.45
        push_ok = rand() < 0.30
        unsubscribed = rand() < 0.04
        bounced = rand() < 0.02
        engagement = rng.betavariate(2.0, 7.0)
        start = max(created, timeline.window_s)
        # Unsubscribing stops every send after that moment; a hard bounce stops email.
        stop_at = start + int(rand() * (today_s - start)) if unsubscribed else today_s
        bounce_at = start + int(rand() * (today_s - start)) if bounced else None

        events: list[tuple[Any, ...]] = []
        # Each send is [time, campaign, variant, clicked, a purchase may be credited to it].
        email_sends: list[list[Any]] = []
        bounced_send = None
        if email_ok:
            bounced_send = messages.email_history(
                cid,
                place.region,
                place.timezone,
                engagement,
                start,
                stop_at,
                bounce_at,
                events,
                email_sends,
            )
        sms_sends: list[list[Any]] = []
        if sms_ok:
            messages.sms_history(cid, place.timezone, engagement, start, stop_at, events, sms_sends)
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
                    events.append(
                        (cid, channel, "unsubscribe", campaign, "", timeline.text(at), 0.0)
                    )

        orders, revenue, last_purchase = draw_purchases(
            rng, timeline, cid, start, events, email_sends, sms_sends
        )
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
            timeline.text(created),
            email_ok,
            sms_ok,
            push_ok,
            unsubscribed,
            bounced,
            round(revenue, 2),
            orders,
            timeline.text(last_purchase) if last_purchase is not None else None,
            "{}",
        )
        return row, events, last_purchase
