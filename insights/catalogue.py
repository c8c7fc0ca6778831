"""The manager dashboard's figures in the metric catalogue (core.catalogue; docs/metrics.md,
"Manager overview" and the tabs' sections):

- the 19 rows of the Overview tab's comparison table, computed by the overview's own exact
  computation (`insights.analytics.compute_overview_exact`, the unrounded blocks behind the
  answer); the Calls, Leads, Revenue and Campaigns tabs show the same figures under the same
  names on their KPI tiles;
- the tabs' own KPI figures (`TAB_METRICS`), computed by the tab's own compute function
  (`insights.tabs.compute.<tab>`), the one the tab's payload is built from.

So the catalogue value and the number on the page, API answer and CSV cannot drift apart.
"""

from __future__ import annotations

from core.catalogue import Compute, Metric, MetricFilters, Value, metric_register
from core.timeranges import Window
from crm.models import Organization
from insights import analytics, selectors
from insights.selectors import Filters
from insights.tabs.compute import calls, campaigns, revenue

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


# The tabs' own figures: (name, label, unit, direction, docs/metrics.md heading).
# Neutral: the automated share and the counts of automated calls and active campaigns are
# neither good nor bad news by themselves.
TAB_METRICS = (
    ("calls.successful", "Successful calls", "count", "higher_is_better", "Calls tab"),
    ("calls.automated", "Automated calls", "count", "neutral", "Calls tab"),
    ("calls.automatedShare", "Automated share", "percent", "neutral", "Calls tab"),
    ("revenue.oneTime", "One-time revenue", "money", "higher_is_better", "Revenue tab"),
    ("revenue.winRate", "Win rate", "percent", "higher_is_better", "Revenue tab"),
    ("revenue.salesCycleDays", "Sales cycle (median days)", "days", "lower_is_better", "Revenue tab"),
    ("revenue.growthRate", "Growth rate", "percent", "higher_is_better", "Revenue tab"),
    ("campaigns.active", "Active campaigns", "count", "neutral", "Campaigns tab"),
    ("campaigns.attributedRevenue", "Attributed revenue", "money", "higher_is_better", "Campaigns tab"),
    ("campaigns.costPerLead", "Cost per lead", "money", "lower_is_better", "Campaigns tab"),
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


def _tab_figure(block: str, field: str) -> Compute:
    """The current-window value of `field` of the tab's KPI figures (insights.tabs.compute)."""

    def compute(organization: Organization, window: Window, filters: MetricFilters) -> Value:
        scope = {"organization": organization, "window": window}
        if block == "calls":
            kpis = calls.call_kpis(**scope, filters=overview_filters(filters))
        elif block == "revenue":
            trusted, hours = selectors.trust(organization)
            kpis = revenue.revenue_kpis(
                **scope, filters=overview_filters(filters), trusted=trusted, hours_until=hours
            )
        else:
            # Campaign messages have no region, product line, source or agent (the tab says so).
            if filters != MetricFilters():
                raise ValueError(f"campaigns.{field} is organization-wide: it takes no filter.")
            kpis = campaigns.campaign_totals(**scope)
        return kpis.current[field]

    return compute


def register() -> None:
    for table, figure in ((OVERVIEW_METRICS, _overview_figure), (TAB_METRICS, _tab_figure)):
        for name, label, unit, direction, definition in table:
            block, field = name.split(".")
            metric_register(
                Metric(
                    name=name,
                    label=label,
                    unit=unit,
                    direction=direction,
                    definition=definition,
                    compute=figure(block, field),
                )
            )
