"""What the Overview tab computes (docs/metrics.md, "Overview tab"): the overview answer (the
same as POST /api/analytics/overview with all four metrics) with its unrounded twin, today
so far against the same time yesterday, and the month's goals."""

from __future__ import annotations

from dataclasses import dataclass

from core.catalogue import metric_change, metric_get
from core.metrics import trend_percent
from insights import analytics
from insights.metrics import money
from insights.metrics.overview import month_elapsed_percent, month_goal
from insights.models import GoalMetric
from insights.selectors import overview as reads
from insights.tabs import DashboardQuery
from insights.tabs.compute import KpiComparison

# Today's figures: payload key -> (rollup spec name, measure, catalogue metric of the unit).
TODAY_FIGURES = {
    "calls": ("calls", "calls", "calls.total"),
    "leads": ("leads", "created", "leads.total"),
    "revenue": ("sales", "amount_sum", "revenue.total"),
    "messagesSent": ("campaigns", "sent", "campaigns.sent"),
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


@dataclass(frozen=True)
class OverviewTab:
    # the overview API's answer (rounded by insights.analytics) and the same blocks unrounded
    answer: dict
    exact: dict
    # today so far (current) against the same time yesterday (previous), unrounded
    today: KpiComparison
    goals: dict
    # catalogue name of each comparison row -> its change against the previous window
    comparison_changes: dict[str, float | None]


def comparison_changes(exact: dict) -> dict[str, float | None]:
    """Each comparison row's change, on the unrounded values (DESIGN section 4): in points for
    a rate, never a percent of a percent (Metric.trend_unit), else relative."""
    changes = {}
    for name in COMPARISON_ROWS:
        block, field = name.split(".")
        now, before = exact[block]["current"].get(field), exact[block]["previous"].get(field)
        changes[name] = metric_change(metric_get(name), now, before)
    return changes


def _today(query: DashboardQuery) -> KpiComparison:
    totals = reads.today_totals(organization=query.organization, filters=query.filters, as_of=query.as_of)
    today = {key: totals[spec]["today"].get(measure, 0) for key, (spec, measure, _m) in TODAY_FIGURES.items()}
    before = {
        key: totals[spec]["yesterday"].get(measure, 0) for key, (spec, measure, _m) in TODAY_FIGURES.items()
    }
    return KpiComparison(
        current=today,
        previous=before,
        changes={key: trend_percent(current=today[key], previous=before[key]) for key in TODAY_FIGURES},
    )


def _number(value: object) -> float | int:
    return value if isinstance(value, int) else float(value or 0)


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
                    "actual": money(actual) if metric == "revenue" else _number(actual),
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


def overview_tab(query: DashboardQuery) -> OverviewTab:
    request = analytics.OverviewRequest(
        window=query.window, range_key=query.range_key, metrics=analytics.METRICS, filters=query.filters
    )
    answer, exact = analytics.compute_overview_exact(organization=query.organization, request=request)
    return OverviewTab(
        answer=answer,
        exact=exact,
        today=_today(query),
        goals=_goals(query),
        comparison_changes=comparison_changes(exact),
    )
