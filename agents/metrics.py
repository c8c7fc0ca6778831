"""Agent metrics from additive totals (docs/metrics.md, "Agent metrics"; DESIGN section 6).

Everything here is pure: totals in, numbers out, with the reference time passed in. Rates
and means keep full precision; rounding happens once (half up, core.metrics.round_half_up),
in `AgentKpis.payload()` and the other payload helpers, which is what the API and the pages
show. A rate or mean over nothing is None. The shared rules (percent, rounding, trends,
currency, goal progress) are core.metrics' (docs/metrics.md, "Shared rules").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal

from core.metrics import percent, ratio, round_half_up, trend_percent, trend_points
from core.timeranges import add_months, days, month_start, week_start

ZERO = Decimal("0")


@dataclass(frozen=True)
class AgentTotals:
    """Additive sums over a window: daily rows and live rows simply add up."""

    assigned: int = 0
    contacted: int = 0
    interested: int = 0
    converted: int = 0
    # Sales in the organization's currency (core.metrics.counted_currencies): their amounts
    # and count. Sales in another currency are never summed, only counted.
    revenue: Decimal = ZERO
    sales_count: int = 0
    excluded_sales: int = 0
    # Integer microseconds, so daily rows and live rows add up exactly.
    response_microseconds: int = 0
    response_count: int = 0
    satisfaction_sum: int = 0
    satisfaction_count: int = 0

    def __add__(self, other: AgentTotals) -> AgentTotals:
        # Field names precomputed (TOTAL_FIELDS): dataclasses.fields() per call made adding
        # a thousand agents' rows a visible share of a cold KPI request.
        return AgentTotals(*[getattr(self, name) + getattr(other, name) for name in TOTAL_FIELDS])

    @classmethod
    def from_mapping(cls, row: Mapping[str, object]) -> AgentTotals:
        """Build from a database row; missing or NULL sums are zero."""
        values = []
        for name in TOTAL_FIELDS:
            raw = row.get(name)
            if name == "revenue":
                values.append(ZERO if raw is None else raw if isinstance(raw, Decimal) else Decimal(str(raw)))
            else:
                values.append(int(raw or 0))
        return cls(*values)


# AgentTotals' fields in declaration order (its positional arguments).
TOTAL_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(AgentTotals))


MICROSECONDS_PER_HOUR = 3_600_000_000


def _hours(microseconds: Decimal | None) -> Decimal | None:
    return None if microseconds is None else microseconds / MICROSECONDS_PER_HOUR


@dataclass(frozen=True)
class AgentKpis:
    leads_handled: int
    contact_rate: Decimal | None
    interest_rate: Decimal | None
    conversion_rate: Decimal | None
    total_revenue: Decimal
    response_time_hours: Decimal | None
    satisfaction_score: Decimal | None
    satisfaction_count: int
    excluded_sales: int = 0

    def payload(self) -> dict[str, object]:
        return {
            "leadsHandled": self.leads_handled,
            "conversionRate": round_half_up(self.conversion_rate, 1),
            "totalRevenue": round_half_up(self.total_revenue, 2),
            "excludedSales": self.excluded_sales,
            "responseTimeHours": round_half_up(self.response_time_hours, 2),
            "satisfactionScore": round_half_up(self.satisfaction_score, 2),
            "satisfactionCount": self.satisfaction_count,
        }


def agent_kpis(totals: AgentTotals) -> AgentKpis:
    return AgentKpis(
        leads_handled=totals.assigned,
        contact_rate=percent(totals.contacted, totals.assigned),
        interest_rate=percent(totals.interested, totals.assigned),
        conversion_rate=percent(totals.converted, totals.assigned),
        total_revenue=totals.revenue,
        response_time_hours=_hours(ratio(totals.response_microseconds, totals.response_count)),
        satisfaction_score=ratio(totals.satisfaction_sum, totals.satisfaction_count),
        satisfaction_count=totals.satisfaction_count,
        excluded_sales=totals.excluded_sales,
    )


# The unit of each KPI trend (docs/metrics.md, "Trend convention"): a rate's change is in
# percentage points, a count's, an amount's or a mean's is relative; the ranking's is places.
TREND_UNITS = {
    "leads": "percent",
    "conversion": "points",
    "revenue": "percent",
    "response": "percent",
    "satisfaction": "percent",
    "ranking": "places",
}


def kpi_trends(
    current: AgentKpis, previous: AgentKpis, *, rank_now: int | None, rank_before: int | None
) -> dict[str, float | int | None]:
    """Each KPI's change on unrounded values, in the unit of TREND_UNITS; `ranking` is
    positions moved up (+ is better)."""
    return {
        "leads": trend_percent(current=current.leads_handled, previous=previous.leads_handled),
        "conversion": trend_points(current.conversion_rate, previous.conversion_rate),
        "revenue": trend_percent(current=current.total_revenue, previous=previous.total_revenue),
        "response": trend_percent(current=current.response_time_hours, previous=previous.response_time_hours),
        "satisfaction": trend_percent(
            current=current.satisfaction_score, previous=previous.satisfaction_score
        ),
        "ranking": None if rank_now is None or rank_before is None else rank_before - rank_now,
    }


def funnel_payload(totals: AgentTotals) -> dict[str, dict[str, object]]:
    kpis = agent_kpis(totals)
    return {
        "funnel": {
            "assigned": totals.assigned,
            "contacted": totals.contacted,
            "interested": totals.interested,
            "converted": totals.converted,
        },
        "conversionRates": {
            "contactRate": round_half_up(kpis.contact_rate, 1),
            "interestRate": round_half_up(kpis.interest_rate, 1),
            "conversionRate": round_half_up(kpis.conversion_rate, 1),
        },
    }


@dataclass(frozen=True)
class SourceRow:
    source: str
    count: int
    converted: int
    revenue: Decimal

    def payload(self) -> dict[str, object]:
        return {
            "source": self.source,
            "count": self.count,
            "conversionRate": round_half_up(percent(self.converted, self.count), 1),
            "revenue": round_half_up(self.revenue, 2),
        }


def lead_source_rows(
    lead_counts: Iterable[tuple[str, int, int]], revenue_by_source: Mapping[str, Decimal]
) -> list[SourceRow]:
    """Join (source, handled, converted) rows with revenue per source.

    A source with revenue but no handled lead in the window still gets a row (count 0), so
    the rows add up to the agent's total revenue. Ordered by count, then revenue, then name.
    """
    rows: dict[str, SourceRow] = {}
    for source, count, converted in lead_counts:
        name = source or "Unknown"
        previous = rows.get(name)
        count += previous.count if previous else 0
        converted += previous.converted if previous else 0
        rows[name] = SourceRow(name, count, converted, ZERO)
    for source, amount in revenue_by_source.items():
        name = source or "Unknown"
        row = rows.get(name, SourceRow(name, 0, 0, ZERO))
        rows[name] = SourceRow(name, row.count, row.converted, row.revenue + amount)
    return sorted(rows.values(), key=lambda r: (-r.count, -r.revenue, r.source))


PERIOD_BUCKETS = {"daily": "day", "weekly": "week", "monthly": "month"}


def bucket_of(day: dt.date, period: str) -> dt.date:
    if period == "weekly":
        return week_start(day)
    if period == "monthly":
        return month_start(day)
    return day


def revenue_series(
    *, revenue_by_day: Mapping[dt.date, Decimal], first_day: dt.date, last_day: dt.date, period: str
) -> list[tuple[dt.date, Decimal]]:
    """Zero-filled buckets (day, ISO week starting Monday, or calendar month) covering
    [first_day, last_day]; each bucket is labelled with its first day."""
    buckets: dict[dt.date, Decimal] = {}
    for day in days(first_day, last_day):
        buckets.setdefault(bucket_of(day, period), ZERO)
    for day, amount in revenue_by_day.items():
        if first_day <= day <= last_day:
            key = bucket_of(day, period)
            buckets[key] = buckets[key] + amount
    return sorted(buckets.items())


def month_to_date_windows(
    *, as_of_local: dt.datetime
) -> tuple[tuple[dt.datetime, dt.datetime], tuple[dt.datetime, dt.datetime]]:
    """Current month to date, and the same elapsed time from the start of the previous
    month (capped at that month's end). Both as local-aware (start, end) pairs."""
    tz = as_of_local.tzinfo
    this_start = dt.datetime.combine(month_start(as_of_local.date()), dt.time.min, tzinfo=tz)
    prev_start = dt.datetime.combine(add_months(this_start.date(), -1), dt.time.min, tzinfo=tz)
    elapsed = as_of_local - this_start
    prev_end = min(prev_start + elapsed, this_start)
    return (this_start, as_of_local), (prev_start, prev_end)


# Goal type -> whether lower is better (core.metrics.goal_progress).
LOWER_IS_BETTER = {"conversions": False, "revenue": False, "responseTimeHours": True}


def goal_actual(*, goal_type: str, kpis: AgentKpis, totals: AgentTotals) -> Decimal | int | None:
    """What a goal of this type measures: conversions (a count), revenue (the organization's
    currency) or the mean response time in hours (None without a contacted lead)."""
    if goal_type == "conversions":
        return totals.converted
    if goal_type == "revenue":
        return totals.revenue
    return kpis.response_time_hours


def ordinal(position: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st ..."""
    teens = 10 <= position % 100 <= 20
    suffix = "th" if teens else {1: "st", 2: "nd", 3: "rd"}.get(position % 10, "th")
    return f"{position}{suffix}"
