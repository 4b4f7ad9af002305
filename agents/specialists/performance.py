"""The performance specialist: KPIs, budget pacing, and splitting budget by marginal return."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, Field, model_validator

from agents.figures import format_figure, shown_value
from agents.specialists.base import Comparison, Evaluation, Param, Proposal, Skill, SkillContext
from db.models import Action
from tools.performance import (
    KpiSummary,
    PacingResult,
    allocate_budget,
    budget_pacing,
    channel_cost_per_conversion,
    kpi_summary,
)

COST_LOOKBACK_DAYS = 90


class BudgetParams(BaseModel):
    budget: float = Field(gt=0)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    allocations: dict[str, float]
    """Channel -> amount; sums to the budget."""

    @model_validator(mode="after")
    def _amounts_not_negative(self) -> BudgetParams:
        for channel, amount in self.allocations.items():
            if amount < 0:
                raise ValueError(f"the {channel} allocation cannot be negative")
        return self


class PeriodParams(BaseModel):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> PeriodParams:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")
        return self


class PacingParams(PeriodParams):
    budget: float = Field(gt=0)
    currency: str = "USD"
    channels: list[str] = Field(default_factory=list)


class BudgetCommitment(BaseModel):
    """An approved budget split, committed as the plan's spend per channel."""

    allocations: dict[str, float]
    """Channel -> amount; sums to the budget."""
    budget: float
    currency: str
    committed: bool


class PacingReport(PacingResult):
    """Spend against a straight-line plan, with the currency the budget is in."""

    currency: str


def _expected_conversions(allocations: dict[str, float], basis: dict[str, float | None]) -> float:
    total = 0.0
    for channel, amount in allocations.items():
        cost = basis.get(channel)
        if cost:
            total += amount / cost
    return round(total, 1)


def _basis(ctx: SkillContext, channels: list[str]) -> dict[str, float | None]:
    return channel_cost_per_conversion(
        ctx.session,
        channels=channels,
        start=ctx.today - timedelta(days=COST_LOOKBACK_DAYS),
        end=ctx.today,
    )


def _split(ctx: SkillContext, budget: float, channels: list[str]) -> dict[str, Any]:
    basis = _basis(ctx, channels)
    bands = {c: ctx.policy.band(c) for c in channels}
    allocation = allocate_budget(
        budget=budget, channels=channels, cost_per_conversion=basis, bands=bands
    )
    return {
        "allocations": allocation.allocations,
        "shares": allocation.shares,
        "cost_per_conversion": allocation.basis,
        "bands": bands,
    }


def _reallocation_budget(ctx: SkillContext) -> tuple[float, list[str]]:
    pacing = ctx.upstream_result("pacing") or {}
    remaining = float(pacing.get("budget", 0)) - float(pacing.get("spent", 0))
    channels = sorted(pacing.get("by_channel", {}).keys()) or list(ctx.goal.channels)
    return max(round(remaining, 2), 0.0), channels


def propose_allocation(ctx: SkillContext) -> Proposal:
    reallocate = ctx.step.inputs.get("mode") == "reallocate"
    if reallocate:
        budget, channels = _reallocation_budget(ctx)
    else:
        budget, channels = float(ctx.goal.budget or 0), list(ctx.goal.channels)
    if budget <= 0 or not channels:
        raise ValueError("there is no remaining budget or no channel to allocate it to")
    split = _split(ctx, budget, channels)
    currency = ctx.goal.currency or "USD"
    even = {c: round(budget / len(channels), 2) for c in channels}
    basis = split["cost_per_conversion"]
    expected = _expected_conversions(split["allocations"], basis)
    alternatives = (
        [
            {
                "option": "even split",
                "params": {"allocations": even},
                "expected_conversions": _expected_conversions(even, basis),
                "why_not": "buys fewer conversions at the same historical costs "
                f"({_expected_conversions(even, basis):,} vs {expected:,})",
            }
        ]
        if len(channels) > 1
        else []
    )
    parts = ", ".join(
        f"{c} {currency} {a:,.2f} ({split['shares'][c]:.0%})"
        for c, a in split["allocations"].items()
    )
    cpc = ", ".join(f"{c} {currency} {v:,.2f}" for c, v in basis.items() if v)
    verb = "Reallocate the remaining" if reallocate else "Split the"
    rationale = (
        f"{verb} {currency} {budget:,.2f} by cost per conversion over the last "
        f"{COST_LOOKBACK_DAYS} days ({cpc}), within policy bands: {parts}."
    )
    params = BudgetParams(budget=budget, currency=currency, allocations=split["allocations"])
    return Proposal(
        params=params.model_dump(),
        rationale=rationale,
        evidence={**split, "expected_conversions": expected},
        alternatives=alternatives,
        context={"channels": channels, "mode": "reallocate" if reallocate else "plan"},
    )


def evaluate_allocation(
    ctx: SkillContext, params: dict[str, Any], changed: frozenset[str]
) -> Evaluation:
    budget = BudgetParams.model_validate(params)
    total = round(sum(budget.allocations.values()), 2)
    if "allocations" in changed:
        budget.budget = total
    elif "budget" in changed and total > 0:
        # A new total keeps the proposed proportions.
        scale = budget.budget / total
        scaled = {c: round(a * scale, 2) for c, a in budget.allocations.items()}
        drift = round(budget.budget - sum(scaled.values()), 2)
        largest = max(scaled, key=lambda c: scaled[c])
        scaled[largest] = round(scaled[largest] + drift, 2)
        budget.allocations = scaled
    basis = _basis(ctx, list(budget.allocations))
    shares = {
        c: (a / budget.budget if budget.budget else 0.0) for c, a in budget.allocations.items()
    }
    return Evaluation(
        params=budget.model_dump(),
        evidence={
            "allocations": budget.allocations,
            "shares": shares,
            "cost_per_conversion": basis,
            "expected_conversions": _expected_conversions(budget.allocations, basis),
        },
    )


def execute_allocation(ctx: SkillContext, action: Action) -> BudgetCommitment:
    budget = BudgetParams.model_validate(action.params)
    return BudgetCommitment(
        allocations=budget.allocations,
        budget=budget.budget,
        currency=budget.currency,
        committed=True,
    )


def _report_period(ctx: SkillContext) -> PeriodParams:
    if ctx.goal.start and ctx.goal.end and ctx.goal.end <= ctx.today:
        return PeriodParams(start=ctx.goal.start, end=ctx.goal.end)
    return PeriodParams(start=ctx.today - timedelta(days=30), end=ctx.today - timedelta(days=1))


def propose_kpis(ctx: SkillContext) -> Proposal:
    period = _report_period(ctx)
    return Proposal(
        params=period.model_dump(mode="json"),
        rationale=f"Summarise sends, opens, clicks, conversions, revenue, spend, CTR, "
        f"CPA and ROAS by channel from {period.start} to {period.end}.",
        context={"period": period.model_dump(mode="json")},
    )


def evaluate_kpis(ctx: SkillContext, params: dict[str, Any], changed: frozenset[str]) -> Evaluation:
    return Evaluation(params=PeriodParams.model_validate(params).model_dump(mode="json"))


def execute_kpis(ctx: SkillContext, action: Action) -> KpiSummary:
    period = PeriodParams.model_validate(action.params)
    return kpi_summary(ctx.session, start=period.start, end=period.end)


def _pacing_period(ctx: SkillContext) -> PeriodParams:
    """The budget period: the brief's dates if it started already, else the current month."""
    if ctx.goal.start and ctx.goal.end and ctx.goal.start < ctx.today:
        return PeriodParams(start=ctx.goal.start, end=ctx.goal.end)
    # "This month" read as today..month end has no spend yet to pace: pace the whole month.
    first = ctx.today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    end = ctx.goal.end if ctx.goal.end and ctx.goal.end > ctx.today else last
    return PeriodParams(start=first, end=end)


def propose_pacing(ctx: SkillContext) -> Proposal:
    period = _pacing_period(ctx)
    assumed = ""
    budget = ctx.goal.budget
    if not budget:
        # No budget in the brief: pace against what the same period cost a year ago.
        year_ago = budget_pacing(
            ctx.session,
            budget=1.0,
            start=period.start - timedelta(days=364),
            end=period.end - timedelta(days=364),
            today=period.end - timedelta(days=364),
            channels=list(ctx.goal.channels) or None,
        )
        budget = round(year_ago.spent, 2) or 1.0
        assumed = (
            f" The brief names no budget, so the plan is last year's spend for the "
            f"same period ({budget:,.2f})."
        )
    params = PacingParams(
        start=period.start,
        end=period.end,
        budget=budget,
        currency=ctx.goal.currency or "USD",
        channels=list(ctx.goal.channels),
    )
    return Proposal(
        params=params.model_dump(mode="json"),
        rationale=f"Compare spend to date with a linear plan of {params.currency} "
        f"{budget:,.2f} from {period.start} to {period.end}.{assumed}",
        context={"period": period.model_dump(mode="json"), "budget": budget},
    )


def evaluate_pacing(
    ctx: SkillContext, params: dict[str, Any], changed: frozenset[str]
) -> Evaluation:
    return Evaluation(params=PacingParams.model_validate(params).model_dump(mode="json"))


def execute_pacing(ctx: SkillContext, action: Action) -> PacingReport:
    p = PacingParams.model_validate(action.params)
    result = budget_pacing(
        ctx.session,
        budget=p.budget,
        start=p.start,
        end=p.end,
        today=ctx.today,
        channels=p.channels or None,
    )
    return PacingReport(**result.model_dump(), currency=p.currency)


def summarise_kpis(result: dict[str, Any]) -> str:
    totals = result.get("totals") or {}
    conversions, revenue, spend = (
        format_figure(k, totals.get(k)) for k in ("conversions", "revenue", "spend")
    )
    return f"KPIs: {conversions} conversions, revenue {revenue}, spend {spend}."


def summarise_pacing(result: dict[str, Any]) -> str:
    spent, budget = (format_figure(k, result.get(k)) for k in ("spent", "budget"))
    status = str(result.get("status", "")).replace("_", " ")
    return f"Pacing {status}: spent {spent} of {budget}."


ALLOCATE = Skill(
    agent="performance",
    kind="allocate_budget",
    risk="internal",
    params_model=BudgetParams,
    result_model=BudgetCommitment,
    propose=propose_allocation,
    evaluate=evaluate_allocation,
    execute=execute_allocation,
    summary="split a budget across channels within policy bands",
    editable=("budget", "allocations"),
    params={
        "allocations": Param(
            label="budget",
            words=("budget", "split", "allocation", "allocations", "much", "share", "spend",
                   "money", "dollars"),
            evidence=("allocations", "shares", "cost_per_conversion", "bands",
                      "expected_conversions"),
            learns="shares",
        ),
        "allocations.{c}": Param(
            evidence=("allocations.{c}", "shares.{c}", "cost_per_conversion.{c}", "bands.{c}",
                      "expected_conversions"),
        ),
        "budget": Param(
            label="total budget",
            words=("total",),
            evidence=("allocations", "expected_conversions"),
        ),
    },
    words=("budget", "spend", "split", "allocation", "allocations", "money", "much", "dollars",
           "cost"),
    channel_evidence=("allocations.{c}", "shares.{c}", "cost_per_conversion.{c}"),
    comparison=Comparison(
        rows=(("total budget", "budget"), ("allocation", "allocations.*"), ("share", "shares.*"),
              ("cost per conversion", "cost_per_conversion.*"),
              ("expected conversions", "expected_conversions")),
        better=("expected conversions", "expected_conversions"),
        describe=lambda params: shown_value(params, "allocations", params.get("allocations") or {}),
    ),
    summarise=lambda result: (
        f"Budget committed: {format_figure('allocations', result.get('allocations', {}))} "
        f"{result.get('currency')}."
    ),
)  # fmt: skip
KPIS = Skill(
    agent="performance",
    kind="kpi_summary",
    risk="read",
    params_model=PeriodParams,
    result_model=KpiSummary,
    propose=propose_kpis,
    evaluate=evaluate_kpis,
    execute=execute_kpis,
    summary="KPIs (spend, revenue, ROAS, CPA) for a period",
    editable=("start", "end"),
    words=("kpi", "kpis", "report", "performance", "roas", "cpa"),
    summarise=summarise_kpis,
)
PACING = Skill(
    agent="performance",
    kind="budget_pacing",
    risk="read",
    params_model=PacingParams,
    result_model=PacingReport,
    propose=propose_pacing,
    evaluate=evaluate_pacing,
    execute=execute_pacing,
    summary="spend against plan by channel",
    editable=("budget", "start", "end"),
    params={"budget": Param(label="total budget")},
    words=("pacing", "pace", "overspend", "underspend"),
    summarise=summarise_pacing,
)
