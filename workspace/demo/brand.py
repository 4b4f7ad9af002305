"""The demo's fictional brand: Northwind Outfitters' voice, sender and compliance rules."""

from __future__ import annotations

import json

from sqlalchemy.engine import Connection

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


def insert_brand(conn: Connection) -> None:
    """Write BRAND as the workspace's brand profile (into an emptied table)."""
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
