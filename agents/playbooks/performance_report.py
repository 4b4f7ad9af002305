"""Performance report: KPIs for a period and the trends behind them."""

from __future__ import annotations

from typing import Any

from agents.planning.channels import channel_phrase
from agents.planning.goal import Goal, StepDraft
from agents.playbooks.base import Playbook, rule
from agents.playbooks.steps import date_inputs, step


def _steps(playbook: Playbook, goal: Goal, review_text: str | None) -> list[StepDraft]:
    channels = list(goal.channels)
    scope: dict[str, Any] = {"channels": channels} if channels else {}
    kpi_title = f"Summarise {channel_phrase(channels)} KPIs" if channels else "Summarise KPIs"
    return [
        step("kpis", "performance.kpi_summary", kpi_title, inputs={**scope, **date_inputs(goal)}),
        step(
            "trends",
            "research.period_trends",
            "Find the trends and anomalies behind the numbers",
            ["kpis"],
            {**scope, **date_inputs(goal)},
        ),
    ]


PERFORMANCE_REPORT = Playbook(
    name="performance_report",
    description="report KPIs and trends",
    kpi="ROAS",
    sends=False,
    template=_steps,
    # A reporting question ("how did last month's promo do?") beats the campaign it
    # names; the weak words (report, results) rank after every campaign.
    rules=(
        rule(
            40,
            r"\bhow\s+(?:did|was|were)\b|\bhow\s+(?:is|are|'s)\s+(?:\w+\s+){1,4}?"
            r"(?:doing|performing|tracking|going)\b|\bkpis?\b|\bdashboard\b|\breport\s+(?:on|for)\b"
            r"|\b(?:performance|weekly|monthly|quarterly|campaign|channel)\s+"
            r"(?:report|summary|recap)\b|\blast\s+(?:month|week|quarter)'s\b"
            r"|\b(?:summari[sz]e|recap)\b|\bresults\s+(?:of|from|for)\b|\bwhat\s+(?:worked|happened)\b",
        ),
        rule(
            130,
            r"\breports?\b|\bresults\b|\bperformance\b|\bmetrics\b|\banalytics\b|\bROAS\b",
        ),
    ),
    objective="Report campaign performance and what drove it",
    channel_joiner="across",
)
