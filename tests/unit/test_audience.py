"""Segments: matching rules, the suppression order and reasons, and the rule sentence."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlmodel import Session

from db.engine import read_session
from tests.support.workspace import NOW, add_contact, add_event, new_engine, workspace_writer
from tools.audience import (
    SegmentRules,
    build_segment,
    classified_segment,
    describe_rules,
    segment_contact_ids,
)
from tools.segment_profile import profile_of

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


WINDOWS = (60, 90, 120, 180)


def test_one_pass_counts_every_recency_window(people: tuple[Session, dict[str, int]]) -> None:
    session, ids = people
    with classified_segment(session, WINBACK, now=NOW, recency_days=WINDOWS) as segment:
        assert segment.result == build_segment(session, WINBACK, now=NOW)
        assert segment.member_ids() == segment_contact_ids(session, WINBACK, now=NOW)
        sizes = segment.window_sizes
    for days in WINDOWS:
        rules = WINBACK.model_copy(update={"min_days_since_purchase": days})
        assert sizes[days] == build_segment(session, rules, now=NOW).size
    # The recent buyer counts in no window; the lapsed ones (120 days) in all up to 120.
    assert sizes == {60: 3, 90: 3, 120: 3, 180: 0}
    assert ids["recent"] not in segment_contact_ids(
        session, WINBACK.model_copy(update={"min_days_since_purchase": 60}), now=NOW
    )


def test_a_pass_without_a_recency_rule_has_no_windows(
    people: tuple[Session, dict[str, int]],
) -> None:
    session, _ = people
    everyone = SegmentRules(channels=["email"])
    with classified_segment(session, everyone, now=NOW, recency_days=WINDOWS) as segment:
        assert segment.window_sizes == {}
        assert segment.result == build_segment(session, everyone, now=NOW)
        assert segment.member_ids() == segment_contact_ids(session, everyone, now=NOW)


def test_one_pass_agrees_with_a_segment_per_window(tmp_path: Path) -> None:
    """Never an unsubscribed or unreachable recipient; every window's counts add up."""
    engine = new_engine(tmp_path)
    people = st.tuples(
        st.one_of(st.none(), st.integers(min_value=0, max_value=400)),  # days since purchase
        st.booleans(),  # unsubscribed
        st.booleans(),  # bounced
        st.booleans(),  # email consent
        st.booleans(),  # sms consent
        st.integers(min_value=0, max_value=4),  # sends in the last week
    )

    @settings(max_examples=30, deadline=None)
    @given(
        st.lists(people, min_size=1, max_size=25),
        st.lists(st.sampled_from(["email", "sms", "push"]), min_size=1, max_size=3),
        st.one_of(st.none(), st.sampled_from([0, 45, 60, 90, 120, 180, 365])),
        st.integers(min_value=1, max_value=4),
        st.lists(st.integers(min_value=0, max_value=400), max_size=4),
    )
    def check(
        contacts: list[tuple[int | None, bool, bool, bool, bool, int]],
        channels: list[str],
        days: int | None,
        cap: int,
        windows: list[int],
    ) -> None:
        with workspace_writer(engine) as s:
            s.connection().exec_driver_sql("DELETE FROM event")
            s.connection().exec_driver_sql("DELETE FROM contact")
            for since, unsubscribed, bounced, email, sms, sends in contacts:
                bought = None if since is None else NOW - timedelta(days=since, hours=1)
                contact = add_contact(
                    s,
                    orders=0 if bought is None else 1,
                    last_purchase_at=bought,
                    unsubscribed=unsubscribed,
                    bounced=bounced,
                    email_consent=email,
                    sms_consent=sms,
                )
                for n in range(sends):
                    add_event(s, contact, "send", NOW - timedelta(days=n + 1), campaign=f"c{n}")
        rules = SegmentRules.model_validate(
            {"channels": channels, "min_days_since_purchase": days, "frequency_cap": cap}
        )
        with read_session(engine) as session:
            with classified_segment(session, rules, now=NOW, recency_days=windows) as segment:
                result, sizes, members = segment.result, segment.window_sizes, segment.member_ids()
                profile = profile_of(segment, rules, now=NOW)
            assert result == build_segment(session, rules, now=NOW)
            assert members == segment_contact_ids(session, rules, now=NOW)
            for window, size in sizes.items():
                other = rules.model_copy(update={"min_days_since_purchase": window})
                assert size == build_segment(session, other, now=NOW).size
            unreachable = session.connection().exec_driver_sql(
                "SELECT count(*) FROM contact WHERE id IN "
                f"({','.join(map(str, members)) or 'NULL'}) AND (unsubscribed OR NOT ("
                f"({'email' in rules.channels} AND email_consent AND NOT bounced) OR "
                f"({'sms' in rules.channels} AND sms_consent) OR "
                f"({'push' in rules.channels} AND push_consent)))"
            )
            assert unreachable.scalar_one() == 0
        assert result.matched == result.size + sum(result.suppressed.values())
        assert result.size == len(members)
        assert set(sizes) == ({*windows, days} if days is not None else set())
        assert all(0 <= n <= result.matched for n in result.by_channel.values())
        never = profile.rfm_tiers.get("never purchased", 0)
        assert sum(profile.rfm_tiers.values()) == result.size
        assert sum(profile.churn_risk.model_dump().values()) == result.size - never

    check()
    engine.dispose()
