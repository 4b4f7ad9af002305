"""Segments: matching rules, the suppression order and reasons, and the rule sentence."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from db.engine import read_session
from tests.support.workspace import NOW, add_contact, add_event, new_engine, workspace_writer
from tools.audience import SegmentRules, build_segment, describe_rules, segment_contact_ids

LAPSED = NOW - timedelta(days=120)
WINBACK = SegmentRules(channels=["email", "sms"], min_days_since_purchase=90)


@pytest.fixture
def people(tmp_path: Path) -> Iterator[tuple[Session, dict[str, int]]]:
    """One lapsed customer per suppression reason, three included ones, and two non-matches."""
    engine = new_engine(tmp_path)
    buyer = {"orders": 2, "lifetime_value": 180.0, "last_purchase_at": LAPSED}
    with workspace_writer(engine) as s:
        ids = {
            "unsubscribed": add_contact(s, unsubscribed=True, sms_consent=True, **buyer),
            "bounced": add_contact(s, bounced=True, **buyer),
            "no_consent": add_contact(s, email_consent=False, **buyer),
            "capped": add_contact(s, sms_consent=True, **buyer),
            "both": add_contact(s, sms_consent=True, region="Europe", **buyer),
            "bounced_sms": add_contact(s, bounced=True, sms_consent=True, **buyer),
            "under_cap": add_contact(s, **buyer),
            "never": add_contact(s),
            "recent": add_contact(
                s, orders=1, lifetime_value=60.0, last_purchase_at=NOW - timedelta(days=10)
            ),
        }
        for days in (1, 2):
            add_event(s, ids["capped"], "send", NOW - timedelta(days=days), campaign=f"e{days}")
        add_event(s, ids["capped"], "send", NOW - timedelta(days=3), channel="sms")
        for days in (1, 6):
            add_event(s, ids["under_cap"], "send", NOW - timedelta(days=days), campaign=f"e{days}")
        # Older than the 7-day window, so it does not count toward the cap.
        add_event(s, ids["under_cap"], "send", NOW - timedelta(days=8), campaign="old")
        add_event(s, ids["both"], "open", NOW - timedelta(days=20))
    with read_session(engine) as session:
        yield session, ids
    engine.dispose()


def test_each_suppression_reason_and_the_included(people: tuple[Session, dict[str, int]]) -> None:
    session, ids = people
    result = build_segment(session, WINBACK, now=NOW)
    assert result.suppressed == {
        "unsubscribed": 1,
        "bounced": 1,
        "no_consent": 1,
        "frequency_cap": 1,
    }
    assert result.matched == 7
    assert result.size == 3
    # The bounced contact with SMS consent stays, reachable by SMS only.
    assert result.by_channel == {"email": 2, "sms": 2}
    included = segment_contact_ids(session, WINBACK, now=NOW)
    assert included == sorted([ids["both"], ids["bounced_sms"], ids["under_cap"]])


def test_suppressed_keys_are_always_present(people: tuple[Session, dict[str, int]]) -> None:
    session, _ = people
    result = build_segment(session, SegmentRules(channels=["push"], regions=["Nowhere"]), now=NOW)
    assert result.matched == 0 and result.size == 0
    assert result.suppressed == dict.fromkeys(
        ("unsubscribed", "bounced", "no_consent", "frequency_cap"), 0
    )
    assert result.by_channel == {"push": 0}


def test_never_purchased_is_not_lapsed(people: tuple[Session, dict[str, int]]) -> None:
    session, ids = people
    lapsed = segment_contact_ids(
        session, SegmentRules(channels=["email"], min_days_since_purchase=1), now=NOW
    )
    assert ids["never"] not in lapsed
    assert ids["recent"] in lapsed
    never = SegmentRules(channels=["email"], never_purchased=True)
    assert segment_contact_ids(session, never, now=NOW) == [ids["never"]]


def test_frequency_cap_counts_every_channel_in_the_last_seven_days(
    people: tuple[Session, dict[str, int]],
) -> None:
    session, ids = people
    looser = WINBACK.model_copy(update={"frequency_cap": 4})
    assert ids["capped"] in segment_contact_ids(session, looser, now=NOW)
    stricter = WINBACK.model_copy(update={"frequency_cap": 2})
    result = build_segment(session, stricter, now=NOW)
    assert result.suppressed["frequency_cap"] == 2  # "capped" (3 sends) and "under_cap" (2)
    # A week later the sends have aged out of the window.
    later = build_segment(session, WINBACK, now=NOW + timedelta(days=8))
    assert later.suppressed["frequency_cap"] == 0


def test_purchase_window_region_and_engagement_rules(
    people: tuple[Session, dict[str, int]],
) -> None:
    session, ids = people
    recent = SegmentRules(channels=["email"], max_days_since_purchase=30)
    assert segment_contact_ids(session, recent, now=NOW) == [ids["recent"]]
    europe = SegmentRules(channels=["email", "sms"], regions=["europe"])
    assert segment_contact_ids(session, europe, now=NOW) == [ids["both"]]
    engaged = SegmentRules(channels=["email"], engaged_within_days=30)
    assert build_segment(session, engaged, now=NOW).matched == 1
    big = SegmentRules(channels=["email"], min_orders=2, min_lifetime_value=100)
    assert build_segment(session, big, now=NOW).matched == 7


def test_rules_reject_contradictions_and_unknown_channels() -> None:
    with pytest.raises(ValidationError):
        SegmentRules.model_validate({"channels": ["social"]})
    with pytest.raises(ValidationError):
        SegmentRules(channels=[])
    with pytest.raises(ValidationError):
        SegmentRules(channels=["email"], never_purchased=True, min_days_since_purchase=90)
    with pytest.raises(ValidationError):
        SegmentRules(channels=["email"], min_days_since_purchase=90, max_days_since_purchase=30)


def test_describe_rules_reads_as_a_sentence() -> None:
    assert describe_rules(WINBACK) == (
        "customers whose last purchase was at least 90 days ago, reachable by email or SMS"
    )
    rules = SegmentRules(
        channels=["email", "sms", "push"],
        min_days_since_purchase=90,
        max_days_since_purchase=365,
        regions=["Europe"],
        engaged_within_days=30,
    )
    assert describe_rules(rules) == (
        "customers whose last purchase was between 90 and 365 days ago in Europe who opened "
        "or clicked in the last 30 days, reachable by email, SMS or push"
    )
    assert describe_rules(SegmentRules(channels=["email"], never_purchased=True)) == (
        "contacts who have never purchased, reachable by email"
    )
