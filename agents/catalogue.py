"""The agent KPIs of GET /agent/analytics/kpis in the metric catalogue (core.catalogue;
docs/metrics.md, "Agent metrics").

Each is computed by the agents' own functions: the window totals of
`agents.selectors.agent_window_totals` (the engine's months, days and live rest) through
`agents.metrics.agent_kpis`, the path of the KPI answer, unrounded. `filters.agent_id` names
the agent and is required; the other filters do not apply to an agent's KPIs and are refused.
"""

from __future__ import annotations

from agents import metrics, selectors
from core.catalogue import Compute, Metric, MetricFilters, Value, metric_register
from core.timeranges import Window
from crm.models import Organization

# (name, label, unit, direction, AgentKpis attribute)
AGENT_METRICS = (
    ("agent.leadsHandled", "Leads handled", "count", "higher_is_better", "leads_handled"),
    ("agent.conversionRate", "Conversion rate", "percent", "higher_is_better", "conversion_rate"),
    ("agent.totalRevenue", "Revenue", "money", "higher_is_better", "total_revenue"),
    ("agent.responseTimeHours", "Response time", "hours", "lower_is_better", "response_time_hours"),
    ("agent.satisfactionScore", "Satisfaction", "rating", "higher_is_better", "satisfaction_score"),
    # Sales in another currency: counted, never summed; neither good nor bad news.
    ("agent.excludedSales", "Sales in other currencies", "count", "neutral", "excluded_sales"),
)
DEFINITION = "Agent metrics"


def _agent_kpi(attribute: str) -> Compute:
    def compute(organization: Organization, window: Window, filters: MetricFilters) -> Value:
        if filters.agent_id is None:
            raise ValueError("An agent metric needs filters.agent_id.")
        if filters.region or filters.product_line or filters.source:
            raise ValueError("An agent metric is filtered by agent only.")
        totals = selectors.agent_window_totals(
            organization=organization,
            window=window,
            state=selectors.fill_state(organization),
            agent_id=filters.agent_id,
        ).get(filters.agent_id, metrics.AgentTotals())
        return getattr(metrics.agent_kpis(totals), attribute)

    return compute


def register() -> None:
    for name, label, unit, direction, attribute in AGENT_METRICS:
        metric_register(
            Metric(
                name=name,
                label=label,
                unit=unit,
                direction=direction,
                definition=DEFINITION,
                compute=_agent_kpi(attribute),
            )
        )
