"""The Overview tab: the overview answer (the same as POST /api/analytics/overview with all
four metrics), today so far against the same time yesterday, and the month's goals."""

from __future__ import annotations

from rest_framework import serializers

from core.api import NumberField, inline_serializer
from core.catalogue import metric_get
from core.display import PERCENT, POINTS, UNIT_SUFFIXES
from core.display import trend as display_trend
from core.metrics import trend_points
from insights import analytics, metrics
from insights.metrics.overview import month_elapsed_percent, month_goal
from insights.models import GoalMetric
from insights.selectors import overview as reads
from insights.tabs import CsvTable, DashboardQuery, records_url
from reports.charts import FunnelChart, Point, ValueFormat

TITLE = "Overview"

TODAY_FIGURES = {
    # payload key -> (rollup spec name, measure, label)
    "calls": ("calls", "calls", "Calls"),
    "leads": ("leads", "created", "New leads"),
    "revenue": ("sales", "amount_sum", "Revenue"),
    "messagesSent": ("campaigns", "sent", "Messages sent"),
}
# The comparison table's rows, in order: catalogue names "<overview block>.<field>"; each
# row's label, format and change unit come from the catalogue (insights/catalogue.py).
COMPARISON_ROWS = (
    "calls.total",
    "calls.successRate",
    "calls.averageDuration",
    "calls.totalMinutes",
    "leads.total",
    "leads.qualified",
    "leads.conversionRate",
    "leads.averageScore",
    "leads.pipelineValue",
    "revenue.total",
    "revenue.deals",
    "revenue.averageDealSize",
    "revenue.monthlyRecurring",
    "campaigns.sent",
    "campaigns.deliveredRate",
    "campaigns.readRate",
    "campaigns.responseRate",
    "campaigns.totalSpend",
    "campaigns.roi",
)

_figure = inline_serializer(
    "OverviewTodayFigure",
    {
        "today": NumberField(),
        "sameTimeYesterday": NumberField(),
        "trend": serializers.FloatField(allow_null=True),
    },
)
OPENAPI_RESPONSE = inline_serializer(
    "OverviewTab",
    {
        "range": serializers.DictField(),
        "data": serializers.DictField(
            help_text="as POST /api/analytics/overview: calls, leads, revenue, campaigns"
        ),
        "trends": serializers.DictField(child=serializers.FloatField(allow_null=True)),
        "comparisons": serializers.DictField(),
        "comparisonRows": serializers.ListField(
            child=inline_serializer(
                "OverviewComparisonRow",
                {
                    "metric": serializers.CharField(),
                    "field": serializers.CharField(),
                    "label": serializers.CharField(),
                    "format": serializers.CharField(),
                    "current": NumberField(allow_null=True),
                    "previous": NumberField(allow_null=True),
                    "change": serializers.FloatField(
                        allow_null=True, help_text="against the previous period, in changeUnit"
                    ),
                    "changeUnit": serializers.ChoiceField(
                        [PERCENT, POINTS], help_text="points for a rate (format percent), else percent"
                    ),
                },
            )
        ),
        "today": inline_serializer("OverviewToday", {name: _figure for name in TODAY_FIGURES}),
        "goals": inline_serializer(
            "OverviewGoals",
            {
                "month": serializers.CharField(),
                "elapsedPercent": serializers.FloatField(),
                "items": serializers.ListField(
                    child=inline_serializer(
                        "OverviewGoal",
                        {
                            "metric": serializers.ChoiceField(GoalMetric.values),
                            "label": serializers.CharField(),
                            "target": serializers.FloatField(allow_null=True),
                            "actual": NumberField(),
                            "completion": serializers.FloatField(allow_null=True),
                            "expectedByNow": serializers.FloatField(allow_null=True),
                            "onTrack": serializers.BooleanField(allow_null=True),
                            "achieved": serializers.BooleanField(),
                        },
                    )
                ),
            },
        ),
    },
)


def _number(value: object) -> float | int:
    return value if isinstance(value, int) else float(value or 0)


def _today(query: DashboardQuery) -> dict:
    totals = reads.today_totals(organization=query.organization, filters=query.filters, as_of=query.as_of)
    out = {}
    for key, (spec, measure, _label) in TODAY_FIGURES.items():
        today = totals[spec]["today"].get(measure, 0)
        yesterday = totals[spec]["yesterday"].get(measure, 0)
        money_like = measure == "amount_sum"
        out[key] = {
            "today": metrics.money(today) if money_like else today,
            "sameTimeYesterday": metrics.money(yesterday) if money_like else yesterday,
            "trend": metrics.trend(today, yesterday),
        }
    return out


def _goals(query: DashboardQuery) -> dict:
    organization = query.organization
    first, window = reads.month_window(organization, query.as_of)
    goals = {g.metric: g for g in reads.goals_for_month(organization=organization, month=first)}
    actuals = reads.month_actuals(organization=organization, window=window)
    elapsed = month_elapsed_percent(
        elapsed_seconds=(window.end - window.start).total_seconds(),
        month_seconds=reads.month_length(first) * 86400,
    )
    items = []
    for metric, label in GoalMetric.choices:
        goal = goals.get(metric)
        if goal is None:
            actual = actuals[metric]
            items.append(
                {
                    "metric": metric,
                    "label": label,
                    "target": None,
                    "actual": metrics.money(actual) if metric == "revenue" else _number(actual),
                    "completion": None,
                    "expectedByNow": None,
                    "onTrack": None,
                    "achieved": False,
                }
            )
            continue
        progress = month_goal(
            metric=metric, target=goal.target, actual=actuals[metric], elapsed_percent=elapsed
        )
        items.append({**progress, "label": label})
    return {"month": first.strftime("%Y-%m"), "elapsedPercent": elapsed, "items": items}


def _comparison_rows(comparisons: dict, exact: dict) -> list[dict]:
    """Rows of rounded values; each change computed on the unrounded ones (DESIGN section 4)."""
    rows = []
    for name in COMPARISON_ROWS:
        entry = metric_get(name)
        metric, field = name.split(".")
        current = comparisons[metric]["current"].get(field)
        previous = comparisons[metric]["previous"].get(field)
        now, before = exact[metric]["current"].get(field), exact[metric]["previous"].get(field)
        # A change of a rate is in points, not a percent of a percent (Metric.trend_unit).
        unit = entry.trend_unit
        if unit == POINTS:
            change = trend_points(now, before)
        else:
            change = metrics.trend(now or 0, before or 0) if now is not None else None
        rows.append(
            {
                "metric": metric,
                "field": field,
                "label": entry.label,
                "format": entry.display_format,
                "current": current,
                "previous": previous,
                "change": change,
                "changeUnit": unit,
            }
        )
    return rows


def compute(query: DashboardQuery) -> dict:
    request = analytics.OverviewRequest(
        window=query.window, range_key=query.range_key, metrics=analytics.METRICS, filters=query.filters
    )
    answer, exact = analytics.compute_overview_exact(organization=query.organization, request=request)
    return {
        **answer,
        "comparisonRows": _comparison_rows(answer["comparisons"], exact),
        "today": _today(query),
        "goals": _goals(query),
    }


# --- display --------------------------------------------------------------------------------


def charts(payload: dict, query: DashboardQuery) -> dict:
    leads, campaigns = payload["data"]["leads"], payload["data"]["campaigns"]
    return {
        "campaign_funnel": FunnelChart(
            "Campaign messages",
            (
                Point("Sent", campaigns["sent"]),
                Point("Delivered", campaigns["delivered"]),
                Point("Read", campaigns["read"]),
                Point("Replied", campaigns["replied"]),
            ),
            ValueFormat("integer"),
        ),
        "lead_funnel": FunnelChart(
            "Leads created in the period",
            (
                Point("Created", leads["total"], href=records_url("leads", query)),
                Point("Qualified", leads["qualified"], href=records_url("leads", query, stage="interested")),
            ),
            ValueFormat("integer"),
        ),
    }


def page_context(payload: dict, query: DashboardQuery) -> dict:
    data, currency = payload["data"], query.organization.currency
    money = ValueFormat.money(currency)
    cards = [
        {
            "key": "calls",
            "label": "Calls",
            "value": data["calls"]["total"],
            "format": ValueFormat("integer"),
            "trend": display_trend(payload["trends"]["calls"]),
            "href": records_url("calls", query),
            "note": f"{_pct(data['calls']['successRate'])} successful",
        },
        {
            "key": "leads",
            "label": "New leads",
            "value": data["leads"]["total"],
            "format": ValueFormat("integer"),
            "trend": display_trend(payload["trends"]["leads"]),
            "href": records_url("leads", query),
            "note": f"{_pct(data['leads']['conversionRate'])} converted",
        },
        {
            "key": "revenue",
            "label": "Revenue",
            "value": data["revenue"]["total"],
            "format": money,
            "trend": display_trend(payload["trends"]["revenue"]),
            "href": records_url("sales", query),
            "note": f"{data['revenue']['deals']} deals",
        },
        {
            "key": "campaigns",
            "label": "Messages sent",
            "value": data["campaigns"]["sent"],
            "format": ValueFormat("integer"),
            "trend": display_trend(payload["trends"]["campaigns"]),
            "href": None,
            "note": f"{data['campaigns']['active']} active campaigns",
        },
    ]
    today = [
        {
            "key": key,
            "label": label,
            "format": money if key == "revenue" else ValueFormat("integer"),
            "trend": display_trend(payload["today"][key]["trend"]),
            **payload["today"][key],
        }
        for key, (_s, _m, label) in TODAY_FIGURES.items()
    ]
    return {"cards": cards, "today": today, "money_format": money, "goal_metrics": GoalMetric.choices}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def csv_tables(payload: dict) -> dict[str, CsvTable]:
    comparison = CsvTable(
        "Current vs previous period",
        ("metric", "current", "previous", "change", "change unit"),
        tuple(
            (r["label"], r["current"], r["previous"], r["change"], UNIT_SUFFIXES[r["changeUnit"]].strip())
            for r in payload["comparisonRows"]
        ),
    )
    today = CsvTable(
        "Today so far",
        ("figure", "today", "same time yesterday", "change %"),
        tuple(
            (TODAY_FIGURES[k][2], v["today"], v["sameTimeYesterday"], v["trend"])
            for k, v in payload["today"].items()
        ),
    )
    goals = CsvTable(
        f"Goals {payload['goals']['month']}",
        ("goal", "target", "actual", "completion %", "expected by now", "on track"),
        tuple(
            (g["label"], g["target"], g["actual"], g["completion"], g["expectedByNow"], g["onTrack"])
            for g in payload["goals"]["items"]
        ),
    )
    return {"comparison": comparison, "today": today, "goals": goals}
