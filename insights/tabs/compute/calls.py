"""What the Calls tab computes (docs/metrics.md, "Calls tab"): call KPIs against the previous
window, calls per day (per hour for a 24h window), outcomes, the automated (AI-assisted)
share, success by country and the weekday x hour counts.

Four or five queries whatever the data size (insights.selectors.calls).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.timeranges import Window
from crm.models import Organization
from insights import selectors
from insights.metrics import calls as call_metrics
from insights.selectors import Filters
from insights.selectors import calls as reads
from insights.tabs import DashboardQuery
from insights.tabs.compute import KpiComparison


@dataclass(frozen=True)
class CallsTab:
    kpis: KpiComparison
    # "hour" when W is at most call_metrics.HOURLY_UP_TO long, else "day"
    bucket: str
    points: list[dict]
    outcomes: list[dict]
    countries: list[dict]
    other_countries: dict | None
    heatmap: dict


def _kpis(totals: reads.CallTotals) -> KpiComparison:
    return KpiComparison(
        current=call_metrics.kpi_block(totals.current, exact=True),
        previous=call_metrics.kpi_block(totals.previous, exact=True),
        changes=call_metrics.kpi_changes(totals.current, totals.previous),
    )


def call_kpis(*, organization: Organization, window: Window, filters: Filters) -> KpiComparison:
    """The call KPIs of W and of the previous window, unrounded, and their changes (also the
    catalogue's compute of the `calls.*` figures the tab shows)."""
    return _kpis(
        reads.call_totals(
            organization=organization, window=window, previous=window.previous(), filters=filters
        )
    )


def calls_tab(query: DashboardQuery) -> CallsTab:
    organization, window = query.organization, query.window
    scope = {"organization": organization, "window": window, "filters": query.filters}
    trust = selectors.trust(organization)
    kpis = _kpis(reads.call_totals(previous=query.previous, trust=trust, **scope))
    by_hour = reads.calls_by_local_hour(hours_until=trust[1], **scope)
    groups = reads.calls_by_outcome_and_country(**scope)
    total = kpis.current["total"]
    hourly = window.length <= call_metrics.HOURLY_UP_TO
    points = (call_metrics.hourly_points if hourly else call_metrics.daily_points)(
        window, organization.tz, by_hour
    )
    countries, other = call_metrics.country_rows(groups, total=total)
    return CallsTab(
        kpis=kpis,
        bucket="hour" if hourly else "day",
        points=points,
        outcomes=call_metrics.outcome_rows(groups, total=total),
        countries=countries,
        other_countries=other,
        heatmap=call_metrics.heatmap(by_hour),
    )
