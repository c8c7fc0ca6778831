"""The manager overview's figures in the metric catalogue (core.catalogue; docs/metrics.md,
"Manager overview"): the 19 rows of the Overview tab's comparison table.

Each metric is computed by the overview's own exact computation
(`insights.analytics.compute_overview_exact`, the unrounded blocks behind the answer), so the
catalogue value and the number on the page, API answer and CSV cannot drift apart.
"""

from __future__ import annotations

from core.catalogue import Compute, Metric, MetricFilters, Value, metric_register
from core.timeranges import Window
from crm.models import Organization
from insights import analytics
from insights.selectors import Filters

# (name = "<overview block>.<field>", label, unit, direction, docs/metrics.md heading).
# Neutral: the mean duration of a call and the campaign spend are neither good nor bad news.
OVERVIEW_METRICS = (
    ("calls.total", "Calls", "count", "higher_is_better", "Calls"),
    ("calls.successRate", "Call success rate", "percent", "higher_is_better", "Calls"),
    ("calls.averageDuration", "Average call duration (min)", "minutes", "neutral", "Calls"),
    # Whole minutes (docs: "rounded to a whole number"), so a count of minutes.
    ("calls.totalMinutes", "Minutes on calls", "count", "higher_is_better", "Calls"),
    ("leads.total", "Leads created", "count", "higher_is_better", "Leads"),
    ("leads.qualified", "Leads qualified", "count", "higher_is_better", "Leads"),
    ("leads.conversionRate", "Lead conversion rate", "percent", "higher_is_better", "Leads"),
    ("leads.averageScore", "Average lead score", "number", "higher_is_better", "Leads"),
    ("leads.pipelineValue", "Lead pipeline value", "money", "higher_is_better", "Leads"),
    ("revenue.total", "Revenue", "money", "higher_is_better", "Revenue"),
    ("revenue.deals", "Deals", "count", "higher_is_better", "Revenue"),
    ("revenue.averageDealSize", "Average deal size", "money", "higher_is_better", "Revenue"),
    ("revenue.monthlyRecurring", "Monthly recurring revenue", "money", "higher_is_better", "Revenue"),
    ("campaigns.sent", "Messages sent", "count", "higher_is_better", "Campaigns"),
    ("campaigns.deliveredRate", "Delivered rate", "percent", "higher_is_better", "Campaigns"),
    ("campaigns.readRate", "Read rate", "percent", "higher_is_better", "Campaigns"),
    ("campaigns.responseRate", "Reply rate", "percent", "higher_is_better", "Campaigns"),
    ("campaigns.totalSpend", "Campaign spend", "money", "neutral", "Campaigns"),
    ("campaigns.roi", "Campaign ROI", "percent", "higher_is_better", "Campaigns"),
)


def overview_filters(filters: MetricFilters) -> Filters:
    """The catalogue's filters as the overview's (insights.selectors.Filters)."""
    return Filters(
        region=filters.region,
        product_line=filters.product_line,
        source=filters.source,
        agent_id=filters.agent_id,
    )


def _overview_figure(block: str, field: str) -> Compute:
    def compute(organization: Organization, window: Window, filters: MetricFilters) -> Value:
        request = analytics.OverviewRequest(
            window=window, range_key=window.label, metrics=(block,), filters=overview_filters(filters)
        )
        _answer, exact = analytics.compute_overview_exact(organization=organization, request=request)
        return exact[block]["current"].get(field)

    return compute


def register() -> None:
    for name, label, unit, direction, definition in OVERVIEW_METRICS:
        block, field = name.split(".")
        metric_register(
            Metric(
                name=name,
                label=label,
                unit=unit,
                direction=direction,
                definition=definition,
                compute=_overview_figure(block, field),
            )
        )
