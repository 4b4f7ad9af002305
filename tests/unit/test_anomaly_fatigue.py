"""Anomaly detection and creative fatigue, checked against numbers worked out by hand."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from db.engine import read_session, write_session
from db.workspace_models import SegmentMember
from tests.support.workspace import (
    add_action,
    add_contact,
    add_event,
    add_spend,
    new_engine,
    workspace_writer,
)
from tools.anomaly import daily_kpis, detect_anomalies, kpi_anomalies, modified_z_score
from tools.channel_anomaly import channel_anomalies
from tools.fatigue import (
    ExposureRate,
    creative_fatigue,
    creative_theme,
    fit_decay,
    reused_creative,
)

DAY0 = date(2026, 10, 1)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def series(values: list[float], start: date = DAY0) -> list[tuple[date, float]]:
    return [(start + timedelta(days=n), v) for n, v in enumerate(values)]


# --- the modified z-score -------------------------------------------------------------


def test_modified_z_score_by_hand() -> None:
    # Baseline 10 12 11 13 12 10 11: median 11; |deviations| 1 1 0 2 1 1 0, so MAD = 1.
    baseline = [10.0, 12, 11, 13, 12, 10, 11]
    score, median, mad = modified_z_score(30, baseline)
    assert (median, mad) == (11, 1)
    assert score == pytest.approx(0.6745 * 19 / 1)  # 12.8155
    assert modified_z_score(2, baseline)[0] == pytest.approx(0.6745 * -9)  # -6.0705


def test_zero_mad_falls_back_to_the_mean_absolute_deviation() -> None:
    # Baseline 5 5 5 5 5 5 8: median 5, MAD 0; mean |deviation| = 3/7.
    score, median, mad = modified_z_score(9, [5.0, 5, 5, 5, 5, 5, 8])
    assert (median, mad) == (5, 0)
    assert score == pytest.approx(4 / (1.253314 * 3 / 7))  # 7.4470
    # A constant baseline: any other value is infinitely far, the same value is not.
    assert modified_z_score(6, [5.0] * 7)[0] == math.inf
    assert modified_z_score(4, [5.0] * 7)[0] == -math.inf
    assert modified_z_score(5, [5.0] * 7)[0] == 0


def test_detect_anomalies_uses_the_trailing_window_only() -> None:
    values = [10.0, 12, 11, 13, 12, 10, 11, 30, 11, 12]
    found = detect_anomalies(series(values), window=7)
    assert len(found) == 1
    spike = found[0]
    assert spike.day == DAY0 + timedelta(days=7)
    assert (spike.value, spike.median, spike.mad) == (30, 11, 1)
    assert spike.score == pytest.approx(12.8155, abs=1e-4)
    assert spike.direction == "spike"
    # The day after: baseline 12 11 13 12 10 11 30 has median 12 and MAD 1, so the spike
    # in it moves nothing and 11 scores -0.6745; the last day (12 against median 11 and
    # MAD 1) scores +0.6745. Only a low threshold reports them.
    low = detect_anomalies(series(values), window=7, threshold=0.6)
    assert low[0] == spike
    assert [(a.day.day, a.score, a.direction) for a in low[1:]] == [
        (9, pytest.approx(-0.6745), "drop"),
        (10, pytest.approx(0.6745), "spike"),
    ]
    # Above the threshold nothing is reported; the first 7 days are never scored.
    assert detect_anomalies(series(values), window=7, threshold=13) == []
    assert detect_anomalies(series([100.0, *values[1:]]), window=7)[0].day == spike.day


def test_detect_anomalies_drops_constant_windows_and_gaps() -> None:
    flat = series([5.0] * 10 + [2.0])
    (drop,) = detect_anomalies(flat, window=28)
    assert drop.direction == "drop" and drop.score == -math.inf
    # The window is calendar days: with a gap, fewer baseline values are there.
    gappy = [(DAY0 + timedelta(days=n), 10.0 + n % 2) for n in range(7)]
    gappy.append((DAY0 + timedelta(days=20), 50.0))
    assert detect_anomalies(gappy, window=7) == []  # no baseline day within 7 days
    assert detect_anomalies(gappy, window=28)[0].day == DAY0 + timedelta(days=20)
    with pytest.raises(ValueError, match="window"):
        detect_anomalies(flat, window=0)


# --- daily KPIs and the report ----------------------------------------------------------


@pytest.fixture
def spend_history(tmp_path: Path) -> Iterator[Session]:
    """40 days of search spend near 100 with one day at 400, and a few email events."""
    engine = new_engine(tmp_path)
    with write_session(engine) as s:
        for n in range(40):
            amount = 400.0 if n == 34 else 100.0 + (n % 5) - 2
            add_spend(s, DAY0 + timedelta(days=n), "search", amount)
            add_spend(s, DAY0 + timedelta(days=n), "email", 5.0)
        contact = add_contact(s)
        at = datetime(2026, 10, 3, 23, 59, tzinfo=UTC)
        add_event(s, contact, "send", at)
        add_event(s, contact, "open", at + timedelta(minutes=5))  # the next UTC day
        add_event(s, contact, "click", at + timedelta(minutes=6))
        add_event(s, contact, "purchase", at + timedelta(minutes=9), revenue=42.5)
        add_event(s, contact, "send", at, channel="sms")
    with read_session(engine) as s:
        yield s
    engine.dispose()


def test_daily_kpis_by_utc_day_with_empty_days(spend_history: Session) -> None:
    rows = daily_kpis(spend_history, start=date(2026, 10, 3), end=date(2026, 10, 5))
    assert [r.day for r in rows] == [date(2026, 10, 3), date(2026, 10, 4), date(2026, 10, 5)]
    third, fourth, fifth = rows
    assert (third.sends, third.opens, third.clicks, third.purchases) == (2, 0, 0, 0)
    assert (fourth.sends, fourth.opens, fourth.clicks, fourth.purchases) == (0, 1, 1, 1)
    assert fourth.revenue == 42.5
    assert (third.spend, fourth.spend, fifth.spend) == (105.0, 106.0, 107.0)
    email = daily_kpis(
        spend_history, start=date(2026, 10, 3), end=date(2026, 10, 3), channel="email"
    )
    assert (email[0].sends, email[0].spend) == (1, 5.0)
    with pytest.raises(ValueError, match="before start"):
        daily_kpis(spend_history, start=date(2026, 10, 5), end=date(2026, 10, 3))


def test_kpi_anomalies_finds_the_spend_spike(spend_history: Session) -> None:
    start, end = date(2026, 10, 29), date(2026, 11, 9)
    report = kpi_anomalies(spend_history, start=start, end=end, channel="search")
    assert report.days == 12
    assert [(a.metric, a.day) for a in report.anomalies] == [("spend", date(2026, 11, 4))]
    spike = report.anomalies[0]
    assert spike.value == 400 and spike.median == 100 and spike.direction == "spike"
    assert spike.channel == "search"
    assert "Search spend on Wednesday 2026-11-04 was 400.00, 4.0x the median of 100.00" in (
        spike.sentence
    )
    assert "1 anomaly" in report.detail
    # The window before `start` is read, so the first day of the range is scored too.
    first = kpi_anomalies(
        spend_history, start=date(2026, 11, 4), end=date(2026, 11, 4), metrics=["spend"]
    )
    assert [a.day for a in first.anomalies] == [date(2026, 11, 4)]
    assert first.anomalies[0].sentence.startswith("Total spend on Wednesday 2026-11-04")
    with pytest.raises(ValueError, match="unknown metric"):
        kpi_anomalies(spend_history, start=start, end=end, metrics=["likes"])


# --- per-channel spend and revenue from the rollups -------------------------------------


@pytest.fixture
def channel_history(tmp_path: Path) -> Iterator[Session]:
    """40 days: search spend near 100 (400 on day 34), social revenue near 21 (300 on day
    33), and an email campaign on day 30 that multiplies email sends and spend, with its
    revenue the day after."""
    engine = new_engine(tmp_path)
    rows: list[tuple[str, str, str, float]] = []
    with workspace_writer(engine) as s:
        contact = add_contact(s)
        for n in range(40):
            day = DAY0 + timedelta(days=n)
            add_spend(s, day, "search", 400.0 if n == 34 else 100.0 + (n % 5) - 2)
            add_spend(s, day, "email", 50.0 if n == 30 else 5.0)
            noon = text_at(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))
            rows += [("email", "send", noon, 0.0)] * (200 if n == 30 else 10)
            rows.append(("social", "purchase", noon, 300.0 if n == 33 else 20.0 + n % 3))
            if n == 31:
                rows.append(("email", "purchase", noon, 500.0))
        s.connection().exec_driver_sql(
            "INSERT INTO event (contact_id, channel, event, campaign, occurred_at, variant, "
            "revenue) VALUES (?, ?, ?, 'c1', ?, '', ?)",
            [(contact, *row) for row in rows],
        )
    with read_session(engine) as s:
        yield s
    engine.dispose()


def test_channel_anomalies_report_spend_and_revenue_and_set_campaigns_aside(
    channel_history: Session,
) -> None:
    start, end = DAY0 + timedelta(days=28), DAY0 + timedelta(days=39)
    report = channel_anomalies(channel_history, start=start, end=end)
    found = [(a.day, a.channel, a.metric, a.value, a.usual, a.direction) for a in report.anomalies]
    # Search spend: baseline 98..102, median 100, MAD 1, so 0.6745 * 300 = 202.35.
    # Social revenue: baseline 20..22, median 21, MAD 1, so 0.6745 * 279 = 188.19.
    assert found == [
        (date(2026, 11, 4), "search", "spend", 400.0, 100.0, "spike"),
        (date(2026, 11, 3), "social", "revenue", 300.0, 21.0, "spike"),
    ]
    assert [a.score for a in report.anomalies] == [202.35, 188.19]
    assert report.anomalies[0].sentence.startswith(
        "Search spend on Wednesday 2026-11-04 was 400.00, 4.0x the median of 100.00"
    )
    # The email campaign of day 30 explains its spend that day and its revenue the next
    # (both against constant baselines): counted, not listed.
    assert report.campaign_days == 2
    assert report.detail == (
        "2 anomalies in daily spend or revenue per channel from 2026-10-29 to 2026-11-09 "
        "(|robust z-score| >= 3.5); 2 on campaign days set aside."
    )
    # The days before `start` are read as the baseline; the first days of data, which
    # have none, are never scored.
    (only,) = channel_anomalies(
        channel_history, start=date(2026, 11, 4), end=date(2026, 11, 4)
    ).anomalies
    assert (only.channel, only.metric) == ("search", "spend")
    whole = channel_anomalies(channel_history, start=DAY0, end=end)
    assert [(a.channel, a.metric) for a in whole.anomalies] == [
        ("search", "spend"),
        ("social", "revenue"),
    ]
    with pytest.raises(ValueError, match="before start"):
        channel_anomalies(channel_history, start=end, end=start)


def test_an_unbounded_score_is_recorded_as_none(tmp_path: Path) -> None:
    engine = new_engine(tmp_path)
    with workspace_writer(engine) as s:
        for n in range(10):
            add_spend(s, DAY0 + timedelta(days=n), "display", 9.0 if n == 9 else 3.0)
    with read_session(engine) as s:
        (flat,) = channel_anomalies(s, start=DAY0, end=DAY0 + timedelta(days=9)).anomalies
    engine.dispose()
    assert (flat.value, flat.usual, flat.score) == (9.0, 3.0, None)
    assert "every one of those days had the same value" in flat.sentence


# --- creative fatigue -------------------------------------------------------------------

CONTACTS = 250
TIRED_CLICKERS = (75, 50, 33, 22)
"""Clickers on each of the four weekly sends of "tired": 30%, 20%, 13.2%, 8.8%."""
FRESH_CLICKERS = (50, 50, 50, 50)


def text_at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


@pytest.fixture
def repeats(tmp_path: Path) -> Iterator[Session]:
    """Two creatives sent weekly four times to the same 250 people, and a one-off."""
    engine = new_engine(tmp_path)
    rows: list[tuple[int, str, str, str, str]] = []
    with write_session(engine) as s:
        ids = [add_contact(s) for _ in range(CONTACTS)]
        first_send = NOW - timedelta(days=40)
        for campaign, clickers in (("tired", TIRED_CLICKERS), ("fresh", FRESH_CLICKERS)):
            for week, clicked in enumerate(clickers):
                sent = first_send + timedelta(days=7 * week)
                for n, contact in enumerate(ids):
                    rows.append((contact, "email", "send", campaign, text_at(sent)))
                    if n < clicked:
                        click = sent + timedelta(hours=1)
                        rows.append((contact, "email", "click", campaign, text_at(click)))
        # A second click on the same exposure counts once; a late click on the first
        # exposure (after the second send) belongs to the second.
        rows.append((ids[0], "email", "click", "tired", text_at(first_send + timedelta(hours=2))))
        rows.append((ids[-1], "email", "click", "tired", text_at(first_send + timedelta(days=8))))
        # Outside the 120-day window: neither numbered nor counted.
        rows.append((ids[0], "email", "send", "tired", text_at(NOW - timedelta(days=200))))
        for contact in ids:
            rows.append((contact, "email", "send", "once", text_at(first_send)))
        s.connection().exec_driver_sql(
            "INSERT INTO event (contact_id, channel, event, campaign, occurred_at, variant, "
            "revenue) VALUES (?, ?, ?, ?, ?, '', 0)",
            rows,
        )
    with read_session(engine) as s:
        yield s
    engine.dispose()


def test_exposures_are_numbered_per_contact_and_clicks_credited(repeats: Session) -> None:
    report = creative_fatigue(repeats, now=NOW)
    by_name = {c.campaign: c for c in report.campaigns}
    assert set(by_name) == {"tired", "fresh"}  # "once" never reached anyone twice
    tired = [(e.exposure, e.sends, e.clicks) for e in by_name["tired"].exposures]
    # ids[-1] clicked the first send a week late, which credits the second exposure.
    assert tired == [(1, 250, 75), (2, 250, 51), (3, 250, 33), (4, 250, 22)]
    fresh = [(e.exposure, e.sends, e.clicks) for e in by_name["fresh"].exposures]
    assert fresh == [(k, 250, 50) for k in (1, 2, 3, 4)]


def test_the_decaying_creative_is_flagged_and_the_flat_one_is_not(repeats: Session) -> None:
    report = creative_fatigue(repeats, now=NOW)
    assert report.flagged == ["tired"]
    tired, fresh = report.campaigns  # fatiguing first
    assert tired.campaign == "tired" and tired.fatiguing
    assert tired.fitted_exposures == 4
    assert tired.decay_per_exposure is not None and 0.25 < tired.decay_per_exposure < 0.40
    assert report.sentences == [tired.sentence]
    assert "tired (email) is fatiguing" in tired.sentence
    assert "30.0% on the first send to 8.8% on the 4th" in tired.sentence
    assert not fresh.fatiguing and fresh.decay_per_exposure == pytest.approx(0, abs=0.01)
    assert report.detail == "1 of 2 repeated campaigns is fatiguing: tired."


def test_too_few_sends_per_exposure_means_no_verdict(repeats: Session) -> None:
    report = creative_fatigue(repeats, now=NOW, min_sends=251)
    assert report.flagged == []
    assert all(c.slope is None and c.fitted_exposures == 0 for c in report.campaigns)
    # A window that only holds the last two sends numbers them 1 and 2: too few to fit.
    late = creative_fatigue(repeats, now=NOW, lookback_days=30)
    assert len(late.campaigns) == 2
    assert all(c.fitted_exposures == 2 and c.slope is None for c in late.campaigns)
    assert "3 are needed" in late.campaigns[0].sentence
    with pytest.raises(ValueError, match="timezone"):
        creative_fatigue(repeats, now=datetime(2026, 11, 21))


def test_a_segment_measures_only_its_members_on_its_channels(repeats: Session) -> None:
    engine = repeats.get_bind()
    with write_session(engine) as s:  # type: ignore[arg-type]
        segment = add_action(s, "act-segment")
        # Contacts 1..125: every clicker of both creatives is among them (the first n of
        # each send click), but not ids[-1], whose late click credits the whole list's
        # second exposure.
        s.add_all(SegmentMember(action_id=segment, contact_id=c) for c in range(1, 126))
    report = creative_fatigue(
        repeats, now=NOW, min_sends=100, segment_action_id=segment, channels=["email"]
    )
    by_name = {c.campaign: c for c in report.campaigns}
    assert set(by_name) == {"tired", "fresh"}
    tired, fresh = by_name["tired"], by_name["fresh"]
    assert [(e.exposure, e.sends, e.clicks) for e in tired.exposures] == [
        (1, 125, 75),
        (2, 125, 50),
        (3, 125, 33),
        (4, 125, 22),
    ]
    assert [e.click_rate for e in tired.exposures] == [0.6, 0.4, 0.264, 0.176]
    assert [(e.sends, e.clicks) for e in fresh.exposures] == [(125, 50)] * 4
    assert report.flagged == ["tired"]
    assert tired.fitted_sends == 500 and tired.fitted_exposures == 4
    # The slope over its standard error, as recorded: clearly below -MIN_Z.
    assert tired.slope is not None and tired.slope_se is not None and tired.slope_z is not None
    assert tired.slope_z == round(tired.slope / tired.slope_se, 2) and tired.slope_z < -1.96
    assert fresh.slope_z == pytest.approx(0, abs=0.01) and not fresh.fatiguing
    assert "from 60.0% on the first send to 17.6% on the 4th (500 sends)" in tired.sentence
    assert (report.contacts, report.contacts_measured) == (125, 125)
    assert creative_fatigue(repeats, now=NOW).contacts is None
    # Past max_contacts, every k-th member by id: k = ceil(125 / 50) = 3 keeps contacts
    # 3, 6, ..., 123; of them 25, 16, 11 and 7 are among the first 75, 50, 33, 22 clickers.
    sample = creative_fatigue(
        repeats, now=NOW, min_sends=40, segment_action_id=segment, max_contacts=50
    )
    assert (sample.contacts, sample.contacts_measured) == (125, 41)
    (sampled,) = [c for c in sample.campaigns if c.campaign == "tired"]
    assert [(e.sends, e.clicks) for e in sampled.exposures] == [
        (41, 25),
        (41, 16),
        (41, 11),
        (41, 7),
    ]
    # The segment's SMS got nothing twice; an empty segment has nothing at all.
    sms = creative_fatigue(repeats, now=NOW, segment_action_id=segment, channels=["sms"])
    assert sms.campaigns == [] and sms.detail.startswith("No campaign reached anyone twice")
    nobody = creative_fatigue(repeats, now=NOW, segment_action_id="act-none")
    assert nobody.campaigns == []


def test_a_creative_is_known_by_the_words_of_its_name() -> None:
    assert creative_theme("email-trail-essentials") == ("trail", "essentials")
    assert creative_theme("email-2026-10-05-newsletter") == ("newsletter",)
    assert creative_theme("SMS_2026-10-09_Flash-Sale") == ("flash", "sale")
    assert creative_theme("email-2026-10-05") == ()
    creatives = ["email-member-picks", "email-trail-essentials", "email-2026-10-05"]
    # The whole theme, in any case and either number, anywhere in the text.
    assert reused_creative("Trail essentials for winter", creatives) == "email-trail-essentials"
    assert reused_creative("Your essential kit for the TRAIL", creatives) == (
        "email-trail-essentials"
    )
    assert reused_creative("A member pick for you", creatives) == "email-member-picks"
    # Part of a theme is not the creative; a name without words matches nothing.
    assert reused_creative("Trail notes from Northwind", creatives) is None
    assert reused_creative("News from 2026-10-05", creatives) is None


def test_fit_decay_recovers_a_geometric_decay() -> None:
    rates = [
        ExposureRate(exposure=k, sends=10**7, clicks=round(10**6 * 0.8 ** (k - 1)), click_rate=0)
        for k in range(1, 6)
    ]
    fit = fit_decay(rates)
    assert fit is not None
    slope, se = fit
    assert slope == pytest.approx(math.log(0.8), abs=1e-4)
    assert 0 < se < 0.001
    assert fit_decay(rates[:1]) is None
