"""Research on the demo data: the planted search-spend day on the card, in the result, in "why"."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from agents.service import Baton
from app.cards import card_props
from tests.support.flow import action_for
from tests.support.home import TODAY
from tests.support.record import record_text, unsourced
from workspace.demo.spend import ANOMALY_CHANNEL, ANOMALY_FACTOR, ANOMALY_METRIC, anomaly_day
from workspace.demo.timeline import Timeline

SEPTEMBER_REPORT = "Performance report for September 1-30, 2026"


def planted_day() -> date:
    timeline = Timeline(TODAY, [])
    return timeline.origin + timedelta(days=anomaly_day(timeline))


def _rows(rows: list[dict[str, str]]) -> dict[str, str]:
    return {r["label"]: r["value"] for r in rows}


def test_a_report_over_the_planted_day_finds_it_on_the_card_and_in_the_result(
    baton: Baton,
) -> None:
    planted = planted_day()
    assert date(2026, 9, 1) <= planted <= date(2026, 9, 30)
    plan = baton.plan_brief(SEPTEMBER_REPORT, actor="admin", today=TODAY)
    trends = action_for(baton, plan.plan_id, "period_trends")
    assert trends.status == "succeeded" and trends.result is not None
    assert (trends.params["start"], trends.params["end"]) == ("2026-09-01", "2026-09-30")

    result = trends.result
    top = result["anomalies"][0]
    assert (top["day"], top["channel"], top["metric"], top["direction"]) == (
        planted.isoformat(),
        ANOMALY_CHANNEL,
        ANOMALY_METRIC,
        "spike",
    )
    assert top["value"] / top["usual"] == pytest.approx(ANOMALY_FACTOR, rel=0.3)
    assert top["score"] > 10
    assert (result["anomaly_start"], result["anomaly_end"]) == ("2026-09-01", "2026-09-30")
    assert result["top_movers"] and "notes" in result  # the keys it always had are kept

    props = card_props(trends, role="admin")
    evidence = _rows(props["evidence"])
    assert evidence["Anomalies in daily spend and revenue"] == str(len(result["anomalies"]))
    assert evidence["Largest anomaly"] == top["sentence"]
    assert f"{planted.isoformat()} was {top['value']:,.2f}" in top["sentence"]
    assert evidence["Anomalies by day"].startswith(
        f"{planted.isoformat()} search spend {top['value']:,.2f} vs usual {top['usual']:,.2f}, "
        f"robust z {top['score']:+.1f}"
    )
    params = _rows(props["params"])
    assert (params["Anomalies from"], params["Anomalies to"]) == ("2026-09-01", "2026-09-30")
    assert params["Anomaly threshold"] == "3.5"
    assert props["result_summary"].startswith(
        f"Anomaly: Search spend on Wednesday {planted.isoformat()} was {top['value']:,.2f}"
    )
    assert "Top movers: " in props["result_summary"]


@pytest.mark.parametrize("question", ["why is search flagged?", "what anomalies?"])
def test_why_answers_about_the_anomalies_from_the_record(baton: Baton, question: str) -> None:
    plan = baton.plan_brief(SEPTEMBER_REPORT, actor="admin", today=TODAY)
    trends = action_for(baton, plan.plan_id, "period_trends")
    assert trends.result is not None
    top = trends.result["anomalies"][0]

    answer = baton.explain(question=question, plan_id=plan.plan_id)

    assert answer.action.action_id == trends.action_id
    assert answer.focus is not None and answer.focus.param == "threshold"
    text = answer.to_markdown()
    assert "**Anomaly threshold (robust z-score): 3.5**" in text
    assert f"- largest anomaly: {top['sentence']}" in text
    assert f"{planted_day().isoformat()} search spend {top['value']:,.2f}" in text
    assert unsourced(text, record_text(baton, answer)) == []


def test_without_a_past_period_the_anomalies_cover_the_trend_period(baton: Baton) -> None:
    plan = baton.plan_brief(
        "Launch our new rain shell collection to active customers by email next week",
        actor="admin",
        today=TODAY,
    )
    trends = action_for(baton, plan.plan_id, "period_trends")
    assert trends.result is not None
    days = trends.params["days"]
    last = (TODAY - timedelta(days=days)).isoformat(), (TODAY - timedelta(days=1)).isoformat()
    assert (trends.params["start"], trends.params["end"]) == last
    assert (trends.result["anomaly_start"], trends.result["anomaly_end"]) == last
    # The card's count and the result agree: both read the same rollups.
    assert trends.evidence["anomaly_count"] == len(trends.result["anomalies"])
    assert all(a["day"] >= last[0] for a in trends.result["anomalies"])
