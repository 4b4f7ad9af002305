"""RFM quintiles, churn risk and reach, checked against scores worked out by hand."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session, SQLModel, create_engine

from db.engine import read_session, write_session
from tests.support.workspace import NOW, add_contact, add_event, new_engine, workspace_writer
from tools import rfm
from tools.audience import SegmentRules, build_segment, classified_segment
from tools.churn import churn_risk
from tools.reach import estimate_reach
from tools.rfm import RFM_LABELS, rfm_label, rfm_scores
from tools.segment_profile import profile_of

# (days since last purchase, orders, lifetime value) for ten purchasers P1..P10.
#   recency quintiles (2 per tile, older first): P9-P10 -> 1, P7-P8 -> 2, ... P1-P2 -> 5
#   orders sorted 1,1,1,1,1,2,2,3,5,8: tile tops 1,1,2,3 so 1 -> 1, 2 -> 3, 3 -> 4, 5+ -> 5
#   value sorted P5 10, P2 20, P7 30, P8 40, P10 100, P9 200, P6 250, P3 300, P4 400, P1 500
PURCHASERS = [
    (1, 8, 500.0),  # P1  5 5 5 champions
    (2, 1, 20.0),  # P2  5 1 1 new
    (3, 2, 300.0),  # P3  4 3 4 potential loyalists
    (4, 5, 400.0),  # P4  4 5 5 champions
    (5, 1, 10.0),  # P5  3 1 1 about to sleep
    (6, 3, 250.0),  # P6  3 4 4 loyal
    (7, 1, 30.0),  # P7  2 1 2 hibernating
    (8, 2, 40.0),  # P8  2 3 2 at risk
    (9, 1, 200.0),  # P9  1 1 3 lost
    (10, 1, 100.0),  # P10 1 1 3 lost
]
EXPECTED = [
    (5, 5, 5, "champions"),
    (5, 1, 1, "new"),
    (4, 3, 4, "potential loyalists"),
    (4, 5, 5, "champions"),
    (3, 1, 1, "about to sleep"),
    (3, 4, 4, "loyal"),
    (2, 1, 2, "hibernating"),
    (2, 3, 2, "at risk"),
    (1, 1, 3, "lost"),
    (1, 1, 3, "lost"),
]


@pytest.fixture
def customers(tmp_path: Path) -> Iterator[tuple[Session, list[int], list[int]]]:
    """Ten purchasers (PURCHASERS) and two contacts who never bought."""
    engine = new_engine(tmp_path)
    with write_session(engine) as s:
        buyers = [
            add_contact(
                s,
                orders=orders,
                lifetime_value=value,
                last_purchase_at=NOW - timedelta(days=days),
            )
            for days, orders, value in PURCHASERS
        ]
        never = [add_contact(s), add_contact(s, unsubscribed=True)]
    with read_session(engine) as session:
        yield session, buyers, never
    engine.dispose()


def test_every_score_triple_has_one_label() -> None:
    seen = {rfm_label(r, f, m) for r, f, m in itertools.product(range(1, 6), repeat=3)}
    assert seen == set(RFM_LABELS) - {"never purchased"}
    assert rfm_label(0, 0, 0) == "never purchased"
    assert rfm_label(1, 5, 5) == "cannot lose them"
    assert rfm_label(2, 4, 3) == "at risk"
    assert rfm_label(4, 1, 5) == "promising"
    assert rfm_label(3, 2, 2) == "need attention"
    with pytest.raises(ValueError):
        rfm_label(6, 1, 1)


def test_rfm_quintiles_and_labels_by_hand(
    customers: tuple[Session, list[int], list[int]],
) -> None:
    session, buyers, never = customers
    report = rfm_scores(session, now=NOW, contact_ids=[*buyers, *never, 999_999])
    assert report.purchasers == 10 and report.contacts == 12
    got = [(s.r, s.f, s.m, s.label) for s in report.scores[:10]]
    assert got == EXPECTED
    assert [s.recency_days for s in report.scores[:10]] == [float(d) for d, _, _ in PURCHASERS]
    assert [(s.r, s.f, s.m, s.label, s.recency_days) for s in report.scores[10:]] == [
        (0, 0, 0, "never purchased", None)
    ] * 2
    assert report.counts == {
        "champions": 2,
        "loyal": 1,
        "potential loyalists": 1,
        "new": 1,
        "promising": 0,
        "need attention": 0,
        "about to sleep": 1,
        "cannot lose them": 0,
        "at risk": 1,
        "hibernating": 1,
        "lost": 2,
        "never purchased": 2,
    }
    assert not report.scores_truncated


def test_score_ranges_show_the_cut_points(customers: tuple[Session, list[int], list[int]]) -> None:
    session, _, _ = customers
    report = rfm_scores(session, now=NOW)
    assert report.scores == []  # no per-contact scores for the whole workspace
    assert [(r.score, r.low, r.high, r.contacts) for r in report.recency_days] == [
        (1, 9.0, 10.0, 2),
        (2, 7.0, 8.0, 2),
        (3, 5.0, 6.0, 2),
        (4, 3.0, 4.0, 2),
        (5, 1.0, 2.0, 2),
    ]
    # Five contacts tie on one order and all take the lowest tile; no one scores 2.
    assert [(r.score, r.low, r.high, r.contacts) for r in report.orders] == [
        (1, 1.0, 1.0, 5),
        (3, 2.0, 2.0, 2),
        (4, 3.0, 3.0, 1),
        (5, 5.0, 8.0, 2),
    ]
    assert [r.contacts for r in report.lifetime_value] == [2, 2, 2, 2, 2]
    assert sum(report.counts.values()) == 12


def test_a_list_is_scored_against_everyone(
    customers: tuple[Session, list[int], list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, buyers, never = customers
    report = rfm_scores(session, now=NOW, contact_ids=[buyers[0], buyers[8], never[0]])
    assert [(s.contact_id, s.label) for s in report.scores] == [
        (buyers[0], "champions"),
        (buyers[8], "lost"),
        (never[0], "never purchased"),
    ]
    assert report.purchasers == 10 and report.contacts == 3
    assert sum(report.counts.values()) == 3
    monkeypatch.setattr(rfm, "CONTACT_SCORE_LIMIT", 2)
    capped = rfm_scores(session, now=NOW, contact_ids=buyers)
    assert len(capped.scores) == 2 and capped.scores_truncated
    assert sum(capped.counts.values()) == 10  # counts cover the whole list


def test_rfm_on_an_empty_workspace(tmp_path: Path) -> None:
    engine = new_engine(tmp_path)
    with read_session(engine) as session:
        report = rfm_scores(session, now=NOW)
    engine.dispose()
    assert report.purchasers == 0 and report.contacts == 0
    assert set(report.counts.values()) == {0}
    assert report.recency_days == [] and report.detail == "No contacts to score."


def logistic(z: float) -> float:
    return 1 / (1 + math.exp(-z))


@pytest.fixture
def churners(tmp_path: Path) -> Iterator[tuple[Session, dict[str, int]]]:
    engine = new_engine(tmp_path)
    day = timedelta(days=1)
    with write_session(engine) as s:
        ids = {
            "regular": add_contact(s, orders=3, last_purchase_at=NOW - 40 * day),
            "one_order": add_contact(s, orders=1, last_purchase_at=NOW - 135 * day),
            "bunched": add_contact(s, orders=2, last_purchase_at=NOW - 18 * day),
            "unsubscribed": add_contact(
                s, orders=1, last_purchase_at=NOW - 9 * day, unsubscribed=True
            ),
            "engaged": add_contact(s, orders=1, last_purchase_at=NOW - day),
            "never": add_contact(s),
        }
        for days in (100, 70, 40):
            add_event(s, ids["regular"], "purchase", NOW - days * day)
        add_event(s, ids["regular"], "purchase", NOW + day)  # after `now`: ignored
        add_event(s, ids["regular"], "click", NOW - 30 * day)
        add_event(s, ids["regular"], "open", NOW - 60 * day)
        add_event(s, ids["regular"], "open", NOW - 100 * day)  # outside the 90 days
        add_event(s, ids["regular"], "send", NOW - 5 * day)  # not engagement
        for days in (20, 18):
            add_event(s, ids["bunched"], "purchase", NOW - days * day)
        for n in range(5):
            add_event(s, ids["engaged"], "click", NOW - timedelta(hours=1), campaign=f"c{n}")
    with read_session(engine) as session:
        yield session, ids
    engine.dispose()


def test_churn_risk_by_hand(churners: tuple[Session, dict[str, int]]) -> None:
    session, ids = churners
    report = churn_risk(session, now=NOW, contact_ids=list(ids.values()))
    by_id = {s.contact_id: s for s in report.scores}
    assert ids["never"] not in by_id and report.never_purchased == 1

    regular = by_id[ids["regular"]]
    # Gap (100 - 40) / 2 = 30 days; 40 days since: 4/3 cycles. Click 30 days ago
    # 2 * (1 - 30/90), open 60 days ago 1 * (1 - 60/90).
    engagement = 2 * (1 - 30 / 90) + (1 - 60 / 90)
    z = -2.0 + 1.5 * (40 / 30) - 0.75 * engagement
    assert regular.interval_days == 30.0 and regular.overdue == pytest.approx(40 / 30, abs=1e-4)
    assert regular.engagement == pytest.approx(engagement, abs=1e-4)
    assert regular.logit == pytest.approx(z, abs=1e-4)
    assert regular.risk == pytest.approx(logistic(z), abs=1e-4) and regular.band == "low"

    one = by_id[ids["one_order"]]  # no rhythm of their own: the 90-day horizon
    assert (one.interval_days, one.overdue) == (90.0, 1.5)
    assert one.risk == pytest.approx(logistic(-2.0 + 1.5 * 1.5), abs=1e-4)
    assert one.band == "medium"

    bunched = by_id[ids["bunched"]]  # a 2-day gap is floored at 7 days
    assert bunched.interval_days == 7.0
    assert bunched.risk == pytest.approx(logistic(-2.0 + 1.5 * 18 / 7), abs=1e-4)
    assert bunched.band == "high"

    unsubscribed = by_id[ids["unsubscribed"]]
    assert unsubscribed.risk == pytest.approx(logistic(-2.0 + 1.5 * 9 / 90 + 3.0), abs=1e-4)
    assert unsubscribed.band == "high"

    engaged = by_id[ids["engaged"]]  # five fresh clicks, capped at 4
    assert engaged.engagement == 4.0
    assert engaged.risk == pytest.approx(logistic(-2.0 + 1.5 / 90 - 3.0), abs=1e-4)

    assert report.bands == {"low": 2, "medium": 1, "high": 2}
    assert report.customers == 5 and not report.scores_truncated


def test_churn_counts_for_everyone_match_the_list(
    churners: tuple[Session, dict[str, int]],
) -> None:
    session, ids = churners
    everyone = churn_risk(session, now=NOW)
    assert everyone.scores == [] and everyone.bands == {"low": 2, "medium": 1, "high": 2}
    shorter = churn_risk(session, now=NOW, contact_ids=list(ids.values()), horizon_days=30)
    # A 30-day horizon drops the old open and click and shortens the one-order rhythm.
    one = next(s for s in shorter.scores if s.contact_id == ids["one_order"])
    assert (one.interval_days, one.overdue) == (30.0, 4.0)
    with pytest.raises(ValueError):
        churn_risk(session, now=NOW, horizon_days=0)


def test_reach_reuses_the_segment(tmp_path: Path) -> None:
    engine = new_engine(tmp_path)
    with write_session(engine) as s:
        add_contact(s, sms_consent=True)
        add_contact(s, sms_consent=True, email_consent=False)
        add_contact(s, bounced=True)
        add_contact(s, unsubscribed=True, sms_consent=True)
        add_contact(s)
    rules = SegmentRules(channels=["email", "sms"])
    with read_session(engine) as session:
        reach = estimate_reach(session, rules, now=NOW)
        segment = build_segment(session, rules, now=NOW)
    engine.dispose()
    assert (reach.matched, reach.size) == (segment.matched, segment.size) == (5, 3)
    assert [(c.channel, c.reachable, c.share) for c in reach.channels] == [
        ("email", 2, round(2 / 3, 4)),
        ("sms", 2, round(2 / 3, 4)),
    ]
    assert reach.suppressed == segment.suppressed
    assert reach.detail.startswith("3 of 5 matching contacts can be reached")


def test_rfm_scores_are_monotone_and_ties_score_alike() -> None:
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)

    @settings(max_examples=25, deadline=None)
    @given(
        st.lists(
            st.tuples(
                st.integers(min_value=0, max_value=400),
                st.integers(min_value=1, max_value=6),
                st.sampled_from([10.0, 25.5, 40.0, 99.99, 250.0, 1200.0]),
            ),
            min_size=1,
            max_size=20,
        ),
        st.integers(min_value=0, max_value=5),
    )
    def check(purchasers: list[tuple[int, int, float]], never: int) -> None:
        with Session(engine) as s:
            s.connection().exec_driver_sql("DELETE FROM contact")
            ids = [
                add_contact(
                    s,
                    orders=orders,
                    lifetime_value=value,
                    last_purchase_at=NOW - timedelta(days=days),
                )
                for days, orders, value in purchasers
            ]
            ids += [add_contact(s) for _ in range(never)]
            report = rfm_scores(s, now=NOW, contact_ids=ids)
        assert sum(report.counts.values()) == report.contacts == len(ids)
        assert report.counts["never purchased"] == never
        scored = report.scores[: len(purchasers)]
        for (days_a, orders_a, value_a), a in zip(purchasers, scored, strict=True):
            assert {a.r, a.f, a.m} <= {1, 2, 3, 4, 5}
            for (days_b, orders_b, value_b), b in zip(purchasers, scored, strict=True):
                if days_a <= days_b:
                    assert a.r >= b.r
                if orders_a <= orders_b:
                    assert a.f <= b.f
                if value_a <= value_b:
                    assert a.m <= b.m

    check()
    engine.dispose()


def test_a_segment_profile_scores_its_recipients_as_the_reports_do(
    customers: tuple[Session, list[int], list[int]],
) -> None:
    session, buyers, never = customers
    rules = SegmentRules(channels=["email"], min_days_since_purchase=3)
    with classified_segment(session, rules, now=NOW) as segment:
        profile = profile_of(segment, rules, now=NOW)
        members = segment.member_ids()
    assert members == buyers[2:]  # P3..P10 bought 3 or more days ago
    report = rfm_scores(session, now=NOW, contact_ids=members)
    assert profile.rfm_tiers == {label: n for label, n in report.counts.items() if n}
    assert profile.rfm_tiers == {
        "champions": 1,
        "loyal": 1,
        "potential loyalists": 1,
        "about to sleep": 1,
        "at risk": 1,
        "hibernating": 1,
        "lost": 2,
    }
    bands = churn_risk(session, now=NOW, contact_ids=members).bands
    assert profile.churn_risk.model_dump() == {b: bands[b] for b in ("high", "medium", "low")}
    assert sum(profile.rfm_tiers.values()) == sum(bands.values()) == profile.size == 8
    assert profile.reach_share == {"email": 1.0}

    everyone = SegmentRules(channels=["email"])
    with classified_segment(session, everyone, now=NOW) as segment:
        profile = profile_of(segment, everyone, now=NOW)
        members = segment.member_ids()
    # The unsubscribed contact who never bought is suppressed; the other one is a recipient.
    assert members == [*buyers, never[0]]
    assert profile.rfm_tiers["never purchased"] == 1
    assert sum(profile.rfm_tiers.values()) == profile.size == 11
    churn = profile.churn_risk
    assert churn.high + churn.medium + churn.low == profile.size - 1


def test_cut_points_follow_the_workspace_version(tmp_path: Path) -> None:
    """Cut points are kept per workspace version: a write through Baton cuts afresh."""
    engine = new_engine(tmp_path)
    bought = NOW - timedelta(days=5)
    with workspace_writer(engine) as s:
        five = [add_contact(s, orders=n, last_purchase_at=bought) for n in range(1, 6)]
    with read_session(engine) as session:
        first = rfm_scores(session, now=NOW, contact_ids=five)
    assert [score.f for score in first.scores] == [1, 2, 3, 4, 5]
    with workspace_writer(engine) as s:
        for _ in range(5):
            add_contact(s, orders=10, last_purchase_at=bought)
    with read_session(engine) as session:
        again = rfm_scores(session, now=NOW, contact_ids=five)
    engine.dispose()
    # Orders 1-5 and five tens: tiles top out at 2, 4, 10, 10, so five orders now score 3.
    assert [score.f for score in again.scores] == [1, 1, 2, 2, 3]
