"""The demo's cadence: how far to scale campaign reach so the event count hits a target."""

from __future__ import annotations

import random
from datetime import date

from workspace.demo.contacts import ContactStream

PILOT_CONTACTS = 2_000
"""Contacts drawn (from a separate stream, never written) to calibrate `target_events`."""
MIN_CADENCE = 0.05
MAX_CADENCE = 2.5
"""Cadence limits: above 2.5 the fortnightly SMS would reach everyone and stop scaling."""


def cadence_for(target_events: int, *, contacts: int, seed: int, today: date) -> float:
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
        pilot = ContactStream(random.Random(f"pilot:{seed}"), today, cadence)
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
