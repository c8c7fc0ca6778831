"""The seven performance metrics, from additive period totals (docs/metrics.md, "Performance metrics").

A metric of one period is a numerator and a denominator (additive totals of that period;
the lead velocity also reads the previous period), then a value. Where a dashboard already
shows the number, the value comes from that dashboard's own pure function, so a series
point equals the dashboard figure for the same window:

- conversion_rate: organization rows = the overview's `leads.conversionRate` (leads created
  in the period that converted, `insights.metrics.leads_block`); agent rows = the agent
  KPI `conversionRate` (handled leads converted, `agents.metrics.agent_kpis`).
- response_rate: the agent funnel's `contactRate` (handled leads contacted); the
  organization row over every agent's handled leads.
- engagement_rate: the campaigns' `replyRate` (replied / delivered of the messages sent in
  the period, `insights.metrics.funnel_rates`); organization rows only.
- avg_response_time: the agent `responseTimeHours`; the organization row over every agent.
- lead_velocity: `core.metrics.trend_percent` of leads created (agent: handled) in the
  period against the previous period.
- revenue_per_lead: the overview's revenue `total` / leads created (agent: `totalRevenue`
  / handled leads), money.
- upsell_rate: customers with an upsell, cross-sell or expansion sale in the period /
  customers with any sale in it, %.

A value over nothing (a zero denominator) is None, never 0. `exact_value` is unrounded
(stored with four decimals); `shown_value` is rounded once, as the dashboard shows it.
Periods are local: a day, an ISO week (its Monday) or a calendar month (its 1st).
Pure: no ORM, no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal

from agents.facade import AgentTotals, agent_kpis, funnel_payload
from core.metrics import percent, ratio, round_half_up, trend_percent
from core.timeranges import add_months, month_start, week_start
from crm.models import SaleKind
from insights.metrics import funnel_rates, leads_block, money

Number = int | Decimal

ORGANIZATION = "organization"
AGENT = "agent"
SCOPES = (ORGANIZATION, AGENT)

CONVERSION_RATE = "conversion_rate"
RESPONSE_RATE = "response_rate"
ENGAGEMENT_RATE = "engagement_rate"
AVG_RESPONSE_TIME = "avg_response_time"
LEAD_VELOCITY = "lead_velocity"
REVENUE_PER_LEAD = "revenue_per_lead"
UPSELL_RATE = "upsell_rate"
# The order of insights.bi.models.MetricName.
METRICS = (
    CONVERSION_RATE,
    RESPONSE_RATE,
    ENGAGEMENT_RATE,
    AVG_RESPONSE_TIME,
    LEAD_VELOCITY,
    REVENUE_PER_LEAD,
    UPSELL_RATE,
)
# Campaign messages have no agent: agent rows have no engagement rate.
AGENT_METRICS = tuple(m for m in METRICS if m != ENGAGEMENT_RATE)
METRICS_BY_SCOPE = {ORGANIZATION: METRICS, AGENT: AGENT_METRICS}

DAY = "day"
WEEK = "week"
MONTH = "month"
PERIODS = (DAY, WEEK, MONTH)

# The sale kinds that sell more to an existing customer.
UPSELL_KINDS = (SaleKind.UPSELL, SaleKind.CROSS_SELL, SaleKind.EXPANSION)

ZERO = Decimal(0)
VALUE_PLACES = Decimal("0.0001")
CENTS = Decimal("0.01")
MICROSECONDS_PER_SECOND = 1_000_000


# --- periods ------------------------------------------------------------------------------


def period_start(day: dt.date, period: str) -> dt.date:
    """The first local day of the day / ISO week (Monday) / calendar month holding `day`."""
    if period == WEEK:
        return week_start(day)
    if period == MONTH:
        return month_start(day)
    if period == DAY:
        return day
    raise ValueError(f"Unknown period {period!r}; use {', '.join(PERIODS)}.")


def next_period_start(start: dt.date, period: str) -> dt.date:
    """The first day of the period after the one starting on `start` (a period start)."""
    if period == MONTH:
        return add_months(start, 1)
    return start + dt.timedelta(days=7 if period == WEEK else 1)


def previous_period_start(start: dt.date, period: str) -> dt.date:
    if period == MONTH:
        return add_months(start, -1)
    return start - dt.timedelta(days=7 if period == WEEK else 1)


def period_starts(first: dt.date, last: dt.date, period: str) -> Iterator[dt.date]:
    """Every period start from the period of `first` to the period of `last`, in order."""
    start, end = period_start(first, period), period_start(last, period)
    while start <= end:
        yield start
        start = next_period_start(start, period)


# --- totals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodTotals:
    """Additive totals of one period for one scope (the organization, or one agent).

    `created` / `created_converted`: leads created in the period and those of them with
    `converted_at` (the overview's cohort; organization rows). `handled` and the counts
    after it: leads handled in the period (assigned then, else created then, when never
    assigned) by the agent, or by any agent for the organization row. `revenue`: the
    organization row has the overview's revenue, an agent row the agent's `totalRevenue`:
    both the sales in the organization's currency (core.metrics.counted_currencies).
    `customers` / `upsell_customers` are distinct counts of one period, not additive across
    periods (a customer buying on two days is one customer of the week).
    """

    created: int = 0
    created_converted: int = 0
    handled: int = 0
    contacted: int = 0
    handled_converted: int = 0
    # integer microseconds, as agents.metrics.AgentTotals, so parts add up exactly
    response_microseconds: int = 0
    response_count: int = 0
    delivered: int = 0
    replied: int = 0
    revenue: Decimal = ZERO
    customers: int = 0
    upsell_customers: int = 0

    def __add__(self, other: PeriodTotals) -> PeriodTotals:
        return PeriodTotals(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


EMPTY = PeriodTotals()


@dataclass(frozen=True)
class MetricValue:
    metric: str
    numerator: Decimal
    denominator: Decimal
    # unrounded (to four decimals), None when undefined
    value: Decimal | None


def fraction(
    metric: str, *, scope: str, current: PeriodTotals, previous: PeriodTotals
) -> tuple[Number, Number]:
    """(numerator, denominator) of a metric for one period; `previous` is the period before
    (only the lead velocity reads it)."""
    org = scope == ORGANIZATION
    if metric == CONVERSION_RATE:
        return (
            (current.created_converted, current.created)
            if org
            else (current.handled_converted, current.handled)
        )
    if metric == RESPONSE_RATE:
        return current.contacted, current.handled
    if metric == ENGAGEMENT_RATE:
        if not org:
            raise ValueError("engagement_rate is organization-wide only")
        return current.replied, current.delivered
    if metric == AVG_RESPONSE_TIME:
        seconds = Decimal(current.response_microseconds) / MICROSECONDS_PER_SECOND
        return seconds, current.response_count
    if metric == LEAD_VELOCITY:
        return (current.created, previous.created) if org else (current.handled, previous.handled)
    if metric == REVENUE_PER_LEAD:
        return current.revenue, (current.created if org else current.handled)
    if metric == UPSELL_RATE:
        return current.upsell_customers, current.customers
    raise ValueError(f"Unknown metric {metric!r}; use {', '.join(METRICS)}.")


def _agent_totals(metric: str, numerator: Number, denominator: Number) -> AgentTotals:
    """The agent KPI inputs a stored (numerator, denominator) stands for."""
    if metric == AVG_RESPONSE_TIME:
        micros = int(Decimal(numerator) * MICROSECONDS_PER_SECOND)
        return AgentTotals(response_microseconds=micros, response_count=int(denominator))
    if metric == RESPONSE_RATE:
        return AgentTotals(assigned=int(denominator), contacted=int(numerator))
    return AgentTotals(assigned=int(denominator), converted=int(numerator))


def exact_value(metric: str, *, scope: str, numerator: Number, denominator: Number) -> Decimal | None:
    """The unrounded value (percent, hours or money) of a (numerator, denominator)."""
    if metric == CONVERSION_RATE and scope == ORGANIZATION:
        block = leads_block({"created": denominator, "converted": numerator}, pipeline_value=0, exact=True)
        return block["conversionRate"]
    if metric == CONVERSION_RATE:
        return agent_kpis(_agent_totals(metric, numerator, denominator)).conversion_rate
    if metric == RESPONSE_RATE:
        return agent_kpis(_agent_totals(metric, numerator, denominator)).contact_rate
    if metric == AVG_RESPONSE_TIME:
        return agent_kpis(_agent_totals(metric, numerator, denominator)).response_time_hours
    if metric == ENGAGEMENT_RATE:
        return funnel_rates({"delivered": denominator, "replied": numerator}, exact=True)["replyRate"]
    if metric == LEAD_VELOCITY:
        growth = ratio(Decimal(numerator) - Decimal(denominator), denominator)
        return None if growth is None else growth * 100
    if metric == REVENUE_PER_LEAD:
        return ratio(numerator, denominator)
    if metric == UPSELL_RATE:
        return percent(numerator, denominator)
    raise ValueError(f"Unknown metric {metric!r}; use {', '.join(METRICS)}.")


def shown_value(metric: str, *, scope: str, numerator: Number, denominator: Number) -> float | None:
    """The value as the dashboards show it, rounded once by the dashboard's own function."""
    if metric == CONVERSION_RATE and scope == ORGANIZATION:
        block = leads_block({"created": denominator, "converted": numerator}, pipeline_value=0)
        return block["conversionRate"]
    if metric == CONVERSION_RATE:
        return agent_kpis(_agent_totals(metric, numerator, denominator)).payload()["conversionRate"]
    if metric == RESPONSE_RATE:
        return funnel_payload(_agent_totals(metric, numerator, denominator))["conversionRates"]["contactRate"]
    if metric == AVG_RESPONSE_TIME:
        return agent_kpis(_agent_totals(metric, numerator, denominator)).payload()["responseTimeHours"]
    if metric == ENGAGEMENT_RATE:
        return funnel_rates({"delivered": denominator, "replied": numerator})["replyRate"]
    if metric == LEAD_VELOCITY:
        return trend_percent(current=numerator, previous=denominator)
    if metric == REVENUE_PER_LEAD:
        return money(ratio(numerator, denominator))
    if metric == UPSELL_RATE:
        return round_half_up(percent(numerator, denominator), 1)
    raise ValueError(f"Unknown metric {metric!r}; use {', '.join(METRICS)}.")


def _stored(value: Number) -> Decimal:
    return Decimal(value).quantize(CENTS, rounding=ROUND_HALF_UP)


def metric_value(metric: str, *, scope: str, current: PeriodTotals, previous: PeriodTotals) -> MetricValue:
    numerator, denominator = fraction(metric, scope=scope, current=current, previous=previous)
    # The value is computed from the stored (two-decimal) numerator, as a reader recomputes it.
    numerator, denominator = _stored(numerator), _stored(denominator)
    value = exact_value(metric, scope=scope, numerator=numerator, denominator=denominator)
    return MetricValue(
        metric=metric,
        numerator=numerator,
        denominator=denominator,
        value=None if value is None else value.quantize(VALUE_PLACES, rounding=ROUND_HALF_UP),
    )


def period_values(*, scope: str, current: PeriodTotals, previous: PeriodTotals) -> list[MetricValue]:
    """Every metric of the scope for one period."""
    return [
        metric_value(metric, scope=scope, current=current, previous=previous)
        for metric in METRICS_BY_SCOPE[scope]
    ]
