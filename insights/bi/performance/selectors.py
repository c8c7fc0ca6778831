"""Reads of the performance series (docs/metrics.md, "Performance metrics"), scoped by organization.

`period_totals` gives the additive totals of every day, ISO week or month of a range, for
the organization and for every agent at once, grouped by local period in the database:
the trusted days come from the daily rollups (insights.models LeadDailyRollup,
SaleDailyRollup, CampaignDailyRollup; agents.models AgentDailyMetrics) grouped by period,
the rest (today, days made stale by an import, days never built) from the raw tables
grouped by `Trunc` in the organization's zone, exactly as the dashboards split a window.
The distinct customer counts of the upsell rate are not additive, so they are always
counted live. At most eleven queries whatever the number of agents, leads or days.

`metric_series` is the read behind `GET /api/bi/metrics`: stored rows, one query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, DateField, F, Q, Sum
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, Trunc

from agents import facade as agents_facade
from agents.facade import AgentDailyMetrics
from core.models import FillState
from core.stats.fillstate import WindowPlan, trusted_through, window_plan
from core.stats.fillstate import fill_state as family_fill_state
from core.timeranges import Window, local_midnight
from crm.models import Organization, Sale
from insights import selectors as insight_selectors
from insights.bi.models import PerformanceMetric
from insights.bi.performance import definitions
from insights.bi.performance.definitions import (
    AGENT,
    METRICS,
    ORGANIZATION,
    PERIODS,
    UPSELL_KINDS,
    PeriodTotals,
)
from insights.selectors import CAMPAIGNS, LEADS, SALES, RollupSpec

Measures = dict[str, int | Decimal]

# The series' family of the statistics engine (insights/statistics.py).
STATISTICS_FAMILY = "performance"


def fill_state(organization: Organization) -> FillState | None:
    """The series' own fill state: the last local day its rows count up to."""
    return family_fill_state(organization, STATISTICS_FAMILY)


@dataclass(frozen=True)
class TrustedDays:
    """The last local day whose rollup rows can be trusted (None: compute everything live)."""

    insights: dt.date | None
    agents: dt.date | None


def trusted_days(*, organization: Organization) -> TrustedDays:
    """Both fill states: two queries."""
    return TrustedDays(
        insights=trusted_through(insight_selectors.fill_state(organization)),
        agents=trusted_through(agents_facade.fill_state(organization)),
    )


@dataclass(frozen=True)
class SeriesTotals:
    """{period start: totals} for the organization; {period start: {agent id: totals}}."""

    organization: dict[dt.date, PeriodTotals] = field(default_factory=dict)
    agents: dict[dt.date, dict[int, PeriodTotals]] = field(default_factory=dict)


# --- grouping by local period --------------------------------------------------------------


def _rollup_bucket(period: str) -> Combinable:
    """The period start of a rollup row's local `day`."""
    if period == definitions.DAY:
        return F("day")
    return Trunc("day", period, output_field=DateField())


def _raw_bucket(expression: str | Combinable, period: str, tz: dt.tzinfo) -> Trunc:
    """The local period start of a UTC timestamp; "week" truncates to the ISO Monday."""
    return Trunc(expression, period, output_field=DateField(), tzinfo=tz)


def _as_day(value: object, tz: dt.tzinfo) -> dt.date:
    # DateField output comes back as a date; keep a datetime (a backend without the
    # converter) on its local day rather than its UTC day.
    if isinstance(value, dt.datetime):
        return value.astimezone(tz).date() if value.tzinfo else value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _add(
    out: dict[tuple, Measures],
    rows: Iterable[Mapping],
    *,
    tz: dt.tzinfo,
    keys: tuple[str, ...],
    names: Iterable[str],
) -> None:
    """Sum grouped rows into out[(period start, *other keys)][name] (rollup and live parts)."""
    names = tuple(names)
    for row in rows:
        key = (_as_day(row["bucket"], tz), *(row[k] for k in keys))
        target = out.setdefault(key, {})
        for name in names:
            target[name] = target.get(name, 0) + (row[f"m_{name}"] or 0)


def _live_span(plan: WindowPlan, in_range: Callable[[dt.datetime, dt.datetime], Q]) -> Q:
    span = Q()
    for start, end in plan.live_ranges:
        span |= in_range(start, end)
    return span


def _spec_totals(
    *, organization: Organization, spec: RollupSpec, measures: dict[str, str], period: str, plan: WindowPlan
) -> dict[tuple, Measures]:
    """{(period start,): {name: total}} of an insights rollup spec's measures (name ->
    spec measure): trusted rollup days grouped by period, plus the raw rest; two queries."""
    tz = organization.tz
    out: dict[tuple, Measures] = {}
    if plan.rollup_days is not None:
        first, last = plan.rollup_days
        rows = (
            spec.model.objects.for_org(organization)
            .filter(day__gte=first, day__lte=last)
            .annotate(bucket=_rollup_bucket(period))
            .values("bucket")
            .annotate(**{f"m_{name}": Sum(column) for name, column in measures.items()})
            .order_by()
        )
        _add(out, rows, tz=tz, keys=(), names=measures)
    if plan.live_ranges:
        time_field = spec.time_field
        span = _live_span(plan, lambda s, e: Q(**{f"{time_field}__gte": s, f"{time_field}__lt": e}))
        rows = (
            spec.raw(organization)
            .filter(span)
            .annotate(bucket=_raw_bucket(time_field, period, tz))
            .values("bucket")
            .annotate(**{f"m_{name}": spec.measures[column].build() for name, column in measures.items()})
            .order_by()
        )
        _add(out, rows, tz=tz, keys=(), names=measures)
    return out


# AgentDailyMetrics column -> PeriodTotals field
AGENT_ROLLUP = {
    "handled": "leads_assigned",
    "contacted": "leads_contacted",
    "handled_converted": "leads_converted",
    "response_microseconds": "response_microseconds",
    "response_count": "response_count",
    "revenue": "revenue",
}


def _agent_totals(*, organization: Organization, period: str, plan: WindowPlan) -> dict[tuple, Measures]:
    """{(period start, agent id): {field: total}} of the agent KPIs: the agent daily rows of
    the trusted days grouped by period, plus the handled leads and the agent's sales of the
    rest (the agent rollups' own specs); three queries for every agent at once."""
    tz = organization.tz
    out: dict[tuple, Measures] = {}
    keys = ("agent_key",)
    if plan.rollup_days is not None:
        first, last = plan.rollup_days
        rows = (
            AgentDailyMetrics.objects.for_org(organization)
            .filter(day__gte=first, day__lte=last)
            .annotate(bucket=_rollup_bucket(period), agent_key=F("agent_id"))
            .values("bucket", "agent_key")
            .annotate(**{f"m_{name}": Sum(column) for name, column in AGENT_ROLLUP.items()})
            .order_by()
        )
        _add(out, rows, tz=tz, keys=keys, names=AGENT_ROLLUP)
    if plan.live_ranges:
        # The rest from the raw rows, with the agent rollups' own measures (agents.selectors
        # AGENT_LEADS, AGENT_SALES), so a live period equals its rolled-up days.
        for spec, in_range in (
            (agents_facade.AGENT_LEADS, agents_facade.handled_in),
            (agents_facade.AGENT_SALES, lambda s, e: Q(closed_at__gte=s, closed_at__lt=e)),
        ):
            names = {name: column for name, column in AGENT_ROLLUP.items() if column in spec.measures}
            rows = (
                spec.raw(organization)
                .filter(_live_span(plan, in_range))
                .annotate(
                    bucket=_raw_bucket(spec.time_field, period, tz),
                    agent_key=F(spec.keys["agent_id"]),
                )
                .values("bucket", "agent_key")
                .annotate(**{f"m_{name}": spec.measures[column].build() for name, column in names.items()})
                .order_by()
            )
            _add(out, rows, tz=tz, keys=keys, names=names)
    return out


def _customer_totals(
    *, organization: Organization, period: str, window: Window, by_agent: bool
) -> dict[tuple, Measures]:
    """Distinct customers (the sale's contact, else its lead's) with a sale closed in each
    period, and with an upsell / cross-sell / expansion sale; by the sale's agent or for
    the organization. One live query (distinct counts do not add up across days)."""
    tz = organization.tz
    sales = (
        Sale.objects.for_org(organization)
        .filter(closed_at__gte=window.start, closed_at__lt=window.end)
        .annotate(customer=Coalesce("contact_id", "lead__contact_id"))
        .filter(customer__isnull=False)
    )
    keys: tuple[str, ...] = ()
    if by_agent:
        sales = sales.filter(agent__isnull=False).annotate(agent_key=F("agent_id"))
        keys = ("agent_key",)
    rows = (
        sales.annotate(bucket=_raw_bucket("closed_at", period, tz))
        .values("bucket", *keys)
        .annotate(
            m_customers=Count("customer", distinct=True),
            m_upsell_customers=Count("customer", distinct=True, filter=Q(kind__in=UPSELL_KINDS)),
        )
        .order_by()
    )
    out: dict[tuple, Measures] = {}
    _add(out, rows, tz=tz, keys=keys, names=("customers", "upsell_customers"))
    return out


def _totals(values: Measures) -> PeriodTotals:
    return PeriodTotals(**{name: (Decimal(v) if name == "revenue" else int(v)) for name, v in values.items()})


def period_totals(
    *, organization: Organization, period: str, first_start: dt.date, end: dt.datetime, trusted: TrustedDays
) -> SeriesTotals:
    """The totals of every `period` from the one starting on `first_start` (a period start)
    to the one holding `end`, which counts only up to `end`: at most eleven queries."""
    if period not in PERIODS:
        raise ValueError(f"Unknown period {period!r}; use {', '.join(PERIODS)}.")
    tz = organization.tz
    window = Window(start=local_midnight(first_start, tz), end=end)
    insights_plan = window_plan(window, tz=tz, trusted_last_day=trusted.insights)
    agents_plan = window_plan(window, tz=tz, trusted_last_day=trusted.agents)

    def spec(spec: RollupSpec, measures: dict[str, str]) -> dict[tuple, Measures]:
        return _spec_totals(
            organization=organization, spec=spec, measures=measures, period=period, plan=insights_plan
        )

    leads = spec(LEADS, {"created": "created", "created_converted": "converted"})
    revenue = spec(SALES, {"revenue": "amount_sum"})
    messages = spec(CAMPAIGNS, {"delivered": "delivered", "replied": "replied"})
    agents = _agent_totals(organization=organization, period=period, plan=agents_plan)
    for key, values in _customer_totals(
        organization=organization, period=period, window=window, by_agent=True
    ).items():
        agents.setdefault(key, {}).update(values)
    customers = _customer_totals(organization=organization, period=period, window=window, by_agent=False)

    per_agent: dict[dt.date, dict[int, PeriodTotals]] = {}
    for (start, agent_id), values in agents.items():
        per_agent.setdefault(start, {})[agent_id] = _totals(values)
    organization_totals: dict[dt.date, PeriodTotals] = {}
    for (start,) in {*leads, *revenue, *messages, *customers} | {(s,) for s in per_agent}:
        # The organization's response figures are those of every agent's handled leads;
        # its revenue is the overview's (organization currency), not the agents' sum.
        team = sum(per_agent.get(start, {}).values(), PeriodTotals())
        own = {
            **leads.get((start,), {}),
            **revenue.get((start,), {}),
            **messages.get((start,), {}),
            **customers.get((start,), {}),
        }
        organization_totals[start] = _totals(own) + PeriodTotals(
            handled=team.handled,
            contacted=team.contacted,
            handled_converted=team.handled_converted,
            response_microseconds=team.response_microseconds,
            response_count=team.response_count,
        )
    return SeriesTotals(organization=organization_totals, agents=per_agent)


# --- the API's read -----------------------------------------------------------------------


def metric_series(
    *,
    organization: Organization,
    metric: str | None,
    period: str,
    start: dt.date,
    end: dt.date,
    agent_id: int | None = None,
) -> list[dict]:
    """The stored series of the periods that overlap the local days [start, end] (a week or
    month starting before `start` is included), organization-wide (`agent_id` None) or of
    one agent of the organization; every metric when `metric` is None. One query.

    Rows are ordered by metric, then period start: `metric`, `period`, `period_start`
    (date), `agent_id`, `value` (float, rounded as the dashboards show it; None where the
    definition is undefined), `numerator`, `denominator` (floats), `complete` (False for a
    period that had not ended when the row was computed: its value is the period so far)
    and `computed_at`. A period never computed has no row; an agent has rows only for the
    periods they had data in (docs/metrics.md, "Performance metrics"). ValueError on a bad argument.
    """
    if metric is not None and metric not in METRICS:
        raise ValueError(f"Unknown metric {metric!r}; use {', '.join(METRICS)}.")
    if period not in PERIODS:
        raise ValueError(f"Unknown period {period!r}; use {', '.join(PERIODS)}.")
    if start > end:
        raise ValueError("The start must be on or before the end.")
    rows = PerformanceMetric.objects.for_org(organization).filter(
        period=period, period_start__gte=definitions.period_start(start, period), period_start__lte=end
    )
    rows = rows.filter(agent__isnull=True) if agent_id is None else rows.filter(agent_id=agent_id)
    if metric is not None:
        rows = rows.filter(metric=metric)
    scope = ORGANIZATION if agent_id is None else AGENT
    tz = organization.tz
    series = []
    for row in rows.order_by("metric", "period_start").values(
        "metric", "period", "period_start", "agent_id", "numerator", "denominator", "computed_at"
    ):
        numerator, denominator = row["numerator"], row["denominator"]
        value = None
        if numerator is not None and denominator is not None:
            value = definitions.shown_value(
                row["metric"], scope=scope, numerator=numerator, denominator=denominator
            )
        period_end = local_midnight(definitions.next_period_start(row["period_start"], period), tz)
        series.append(
            {
                **row,
                "value": value,
                "numerator": None if numerator is None else float(numerator),
                "denominator": None if denominator is None else float(denominator),
                "complete": period_end <= row["computed_at"],
            }
        )
    return series
