"""What the agent pages draw, built from the payloads of agents.analytics (docs/agents.md).

Pure functions: a payload dict in, a chart spec (reports.charts, docs/charts.md) or a small
frozen display record out. No ORM, no clock. Every figure comes already computed and rounded
from the payload (docs/metrics.md, "Agent metrics"); the only arithmetic here is scaling bar
widths, which are drawing, not numbers anyone reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agents.metrics import TREND_UNITS, ordinal
from core.display import Trend, trend
from core.metrics import round_half_up
from reports.charts import FunnelChart, LineChart, Point, Series, ValueFormat, format_value
from reports.charts.formats import MISSING

Payload = Mapping[str, Any]

PERIOD_NOUNS = {"daily": "day", "weekly": "week", "monthly": "month"}
GOAL_LABELS = {"conversions": "Conversions", "revenue": "Revenue", "responseTimeHours": "Response time"}
INTEGER = ValueFormat("integer")
PERCENT = ValueFormat("percent")


def money(value: float | None, currency: str) -> str:
    return format_value(value, ValueFormat.money(currency))


def hours(value: float | None) -> str:
    # Two decimals, as the payload rounds them (docs/metrics.md), not the charts' one.
    return MISSING if value is None else f"{value:,.2f} h"


# --- trends and KPI cards ---------------------------------------------------------------------


def rank_trend(places_up: int | None) -> Trend:
    """The ranking trend is positions moved up (docs/metrics.md): positive is better."""
    if places_up is None:
        return Trend("", MISSING, "none")
    if places_up == 0:
        return Trend("", "no change", "flat")
    unit = "place" if abs(places_up) == 1 else "places"
    if places_up > 0:
        return Trend("▲", f"{places_up} {unit} up", "good")
    return Trend("▼", f"{-places_up} {unit} down", "bad")


@dataclass(frozen=True)
class KpiCard:
    key: str
    label: str
    value: str
    trend: Trend
    note: str = ""


def team_position(kpis: Payload) -> str:
    """ "3rd of 15", or "Not ranked" for a member outside the ranking (not an active agent)."""
    if kpis.get("teamRanking") is None:
        return "Not ranked"
    return f"{ordinal(kpis['teamRanking'])} of {kpis['totalAgents']}"


def excluded_sales_note(excluded: int) -> str:
    """What the revenue leaves out: sales in another currency are counted, never summed
    (docs/metrics.md, "Shared rules"); nothing to say when there are none."""
    if not excluded:
        return ""
    if excluded == 1:
        return "1 sale in another currency is not included"
    return f"{excluded:,} sales in other currencies are not included"


def _kpi_trend(trends: Payload, key: str, *, lower_is_better: bool = False) -> Trend:
    """A KPI's change in its unit: +x.x% (counts, money, means) or +x.x pts (rates)."""
    return trend(trends[key], unit=TREND_UNITS[key], lower_is_better=lower_is_better)


def kpi_cards(payload: Payload, *, currency: str) -> tuple[KpiCard, ...]:
    """The KPI cards of analytics.kpis, in reading order."""
    kpis, trends = payload["kpis"], payload["trends"]
    ratings = kpis["satisfactionCount"]
    satisfaction = kpis["satisfactionScore"]
    return (
        KpiCard(
            "leads",
            "Leads handled",
            format_value(kpis["leadsHandled"], INTEGER),
            _kpi_trend(trends, "leads"),
            f"{format_value(kpis['leadsThisWeek'], INTEGER)} this week",
        ),
        KpiCard(
            "conversion",
            "Conversion rate",
            format_value(kpis["conversionRate"], PERCENT),
            _kpi_trend(trends, "conversion"),
        ),
        KpiCard(
            "revenue",
            "Revenue",
            money(kpis["totalRevenue"], currency),
            _kpi_trend(trends, "revenue"),
            excluded_sales_note(kpis["excludedSales"]),
        ),
        KpiCard(
            "response",
            "Response time",
            hours(kpis["responseTimeHours"]),
            _kpi_trend(trends, "response", lower_is_better=True),
            "mean time to first contact",
        ),
        KpiCard(
            "satisfaction",
            "Satisfaction",
            MISSING if satisfaction is None else f"{satisfaction:.2f} / 5",
            _kpi_trend(trends, "satisfaction"),
            f"{ratings} rating{'' if ratings == 1 else 's'}",
        ),
        KpiCard(
            "ranking",
            "Team position",
            team_position(kpis),
            rank_trend(trends["ranking"]),
            "" if kpis.get("teamRanking") is not None else "only active agents are ranked",
        ),
    )


def has_window_data(kpis_payload: Payload) -> bool:
    """Whether the range holds anything to chart: a handled lead or a sale."""
    kpis = kpis_payload["kpis"]
    return bool(kpis["leadsHandled"] or kpis["totalRevenue"])


# --- funnel -----------------------------------------------------------------------------------

FUNNEL_STAGES = (
    ("assigned", "Assigned", None),
    ("contacted", "Contacted", "contactRate"),
    ("interested", "Interested", "interestRate"),
    ("converted", "Converted", "conversionRate"),
)


def funnel_chart(payload: Payload, *, range_label: str) -> FunnelChart:
    """Assigned -> contacted -> interested -> converted. The chart prints stage-to-stage
    rates; the hover adds each stage's rate of assigned leads (the payload's rates)."""
    counts, rates = payload["funnel"], payload["conversionRates"]
    stages = []
    for key, label, rate_key in FUNNEL_STAGES:
        tooltip = None
        if rate_key is not None:
            tooltip = f"{format_value(rates[rate_key], PERCENT)} of assigned leads"
        stages.append(Point(label, counts[key], tooltip=tooltip))
    return FunnelChart(f"Leads handled by stage, last {range_label}", tuple(stages))


# --- revenue trend ----------------------------------------------------------------------------


def _day_label(day: dt.date, *, with_year: bool) -> str:
    return f"{day.day} {day:%b %Y}" if with_year else f"{day.day} {day:%b}"


def _bucket_labels(days: Sequence[dt.date], period: str) -> list[str]:
    if period == "monthly":
        return [f"{day:%b %Y}" for day in days]
    short = [_day_label(day, with_year=False) for day in days]
    # The x axis is keyed by label: a year-long daily series has two "22 Nov"s.
    if len(set(short)) < len(short):
        return [_day_label(day, with_year=True) for day in days]
    return short


def _bucket_tooltip(day: dt.date, period: str) -> str:
    if period == "weekly":
        return f"Week of Monday {day.day} {day:%b %Y}"
    if period == "monthly":
        return f"{day:%B %Y}"
    return f"{day:%A} {day.day} {day:%b %Y}"


def revenue_chart(payload: Payload, *, range_label: str) -> LineChart:
    """The zero-filled revenue buckets of analytics.revenue_trend as a money line."""
    period = payload["period"]
    days = [dt.date.fromisoformat(point["date"]) for point in payload["data"]]
    labels = _bucket_labels(days, period)
    points = tuple(
        Point(label, point["revenue"], tooltip=_bucket_tooltip(day, period))
        for label, day, point in zip(labels, days, payload["data"], strict=True)
    )
    return LineChart(
        f"Revenue per {PERIOD_NOUNS[period]}, last {range_label}",
        (Series("Revenue", points),),
        ValueFormat.money(payload["currency"]),
        x_label={"daily": None, "weekly": "Week starting", "monthly": None}[period],
    )


@dataclass(frozen=True)
class RevenueInsights:
    best_day: str  # "18 Nov 2026: KES 1,000.00", or "" when there is none
    month_total: str
    month_change: Trend


def revenue_insights(payload: Payload) -> RevenueInsights:
    insights, currency = payload["insights"], payload["currency"]
    best = insights["bestDay"]
    best_text = ""
    if best:
        day = dt.date.fromisoformat(best["date"])
        best_text = f"{_day_label(day, with_year=True)}: {money(best['revenue'], currency)}"
    return RevenueInsights(
        best_day=best_text,
        month_total=money(insights["monthTotal"], currency),
        month_change=trend(insights["monthChange"]),
    )


def has_revenue(payload: Payload) -> bool:
    return any(point["revenue"] for point in payload["data"])


# --- lead sources -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceRow:
    source: str
    count: str
    conversion: str
    revenue: str  # "1,000.00": the currency is in the column header
    count_bar: float  # bar width in % of the widest row
    revenue_bar: float


def _share(value: float, largest: float) -> float:
    return round_half_up(value / largest * 100, 1) if largest else 0.0


def source_rows(payload: Payload) -> tuple[SourceRow, ...]:
    """analytics.lead_sources as table rows with inline bars, in the payload's order."""
    sources = payload["sources"]
    most_leads = max((row["count"] for row in sources), default=0)
    most_revenue = max((row["revenue"] for row in sources), default=0)
    return tuple(
        SourceRow(
            source=row["source"],
            count=format_value(row["count"], INTEGER),
            conversion=format_value(row["conversionRate"], PERCENT),
            revenue=f"{row['revenue']:,.2f}",
            count_bar=_share(row["count"], most_leads),
            revenue_bar=_share(row["revenue"], most_revenue),
        )
        for row in sources
    )


# --- activity timeline ------------------------------------------------------------------------

ACTIVITY_ICONS = {
    "call": "☎",
    "email": "✉",
    "meeting": "◷",
    "message": "✎",
    "note": "✎",
    "conversion": "★",
    "assignment": "→",
    "status_change": "↻",
    "goal_achieved": "⚑",
}


@dataclass(frozen=True)
class TimelineItem:
    id: str
    type: str
    icon: str
    title: str
    description: str
    when: dt.datetime
    details: tuple[str, ...]


def _duration(seconds: int) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s" if minutes and rest else (f"{minutes} min" if minutes else f"{rest} s")


def _details(metadata: Payload, *, currency: str) -> tuple[str, ...]:
    details = []
    if metadata.get("revenue") is not None:
        details.append(money(float(metadata["revenue"]), currency))
    if metadata.get("durationSeconds") is not None:
        details.append(_duration(metadata["durationSeconds"]))
    if metadata.get("outcome"):
        details.append(str(metadata["outcome"]).replace("_", " "))
    if metadata.get("leadId"):
        details.append(f"lead {metadata['leadId']}")
    return tuple(details)


def timeline_items(payload: Payload, *, currency: str) -> tuple[TimelineItem, ...]:
    """analytics.activities items with a parsed timestamp (the template shows it in the
    organization's time zone) and a few readable details from the metadata."""
    return tuple(
        TimelineItem(
            id=item["id"],
            type=item["type"],
            icon=ACTIVITY_ICONS.get(item["type"], "•"),
            title=item["title"],
            description=item["description"],
            when=dt.datetime.fromisoformat(item["timestamp"]),
            details=_details(item["metadata"] or {}, currency=currency),
        )
        for item in payload["activities"]
    )


# --- goals ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalBar:
    id: int
    period: str
    type: str
    label: str
    current: str
    target: str
    completion: str  # "50.0%", or "—" without data
    bar: float  # bar width, 0-100 (completion can exceed 100; the bar cannot)
    achieved: bool
    period_dates: str


def _goal_value(value: float | None, goal_type: str, currency: str) -> str:
    if goal_type == "revenue":
        return money(value, currency)
    if goal_type == "responseTimeHours":
        return hours(value)
    return format_value(value, ValueFormat("number"))


def _period_dates(start: dt.date, end_exclusive: dt.date) -> str:
    last = end_exclusive - dt.timedelta(days=1)
    return f"{start.day} {start:%b} – {last.day} {last:%b %Y}"


def goal_bars(payload: Payload, *, currency: str) -> tuple[GoalBar, ...]:
    """analytics.goals as progress bars. Response time is lower-is-better: its completion is
    already target / current in the payload, so the bar reads the same way as the others."""
    bars = []
    for goal in payload["goals"]:
        completion = goal["completion"]
        target = _goal_value(goal["target"], goal["type"], currency)
        if goal["lowerIsBetter"]:
            target = f"≤ {target}"
        bars.append(
            GoalBar(
                id=goal["id"],
                period=goal["period"],
                type=goal["type"],
                label=GOAL_LABELS.get(goal["type"], goal["type"]),
                current=_goal_value(goal["current"], goal["type"], currency),
                target=target,
                completion=format_value(completion, PERCENT),
                bar=0.0 if completion is None else max(0.0, min(float(completion), 100.0)),
                achieved=goal["achieved"],
                period_dates=_period_dates(
                    dt.date.fromisoformat(goal["periodStart"]), dt.date.fromisoformat(goal["periodEnd"])
                ),
            )
        )
    return tuple(bars)
