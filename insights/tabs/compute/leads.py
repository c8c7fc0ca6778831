"""What the Leads tab computes (docs/metrics.md, "Leads tab"): the overview's leads KPIs
against the previous window, then, over the leads created in W, the stage funnel, the score
distribution, source performance, pipeline velocity and weekly conversion cohorts.

Seven or eight queries whatever the data size (insights.selectors.leads).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.timeranges import Window
from crm.models import Organization
from insights import metrics
from insights.metrics import leads as calc
from insights.selectors import Filters
from insights.selectors import leads as reads
from insights.tabs import DashboardQuery
from insights.tabs.compute import KpiComparison


@dataclass(frozen=True)
class LeadsTab:
    kpis: KpiComparison
    # the cohort (leads created in W): funnel stages, lost, score bands, sources, velocity
    funnel: list[dict]
    lost: int
    scores: list[dict]
    sources: list[dict]
    source_totals: dict
    velocity: list[dict]
    horizons: tuple[int, ...]
    cohort_weeks: list[dict]


def lead_kpis(*, organization: Organization, window: Window, filters: Filters) -> KpiComparison:
    """The overview's leads block of W and of the previous window, unrounded, and the changes
    (also the catalogue's compute of the `leads.*` figures the tab shows)."""
    totals = reads.kpi_totals(
        organization=organization, window=window, previous=window.previous(), filters=filters
    )
    return KpiComparison(
        current=metrics.leads_block(totals.current, pipeline_value=totals.pipeline_now, exact=True),
        previous=metrics.leads_block(totals.previous, pipeline_value=totals.pipeline_before, exact=True),
        changes=calc.kpi_changes(
            totals.current,
            totals.previous,
            pipeline_now=totals.pipeline_now,
            pipeline_before=totals.pipeline_before,
        ),
    )


def _spans() -> dict[str, tuple[str, str]]:
    column = {"created": "created_at", **reads.STAGE_FIELDS}
    return {key: (column[start], column[end]) for key, start, end in calc.VELOCITY_SPANS}


def leads_tab(query: DashboardQuery) -> LeadsTab:
    organization, window = query.organization, query.window
    tz = organization.tz
    scope = {"organization": organization, "window": window, "filters": query.filters}
    kpis = lead_kpis(**scope)
    by_source = reads.counts_by_source(**scope, buckets=calc.SCORE_BUCKETS)
    revenue = reads.revenue_by_source(**scope)
    middles = reads.stage_duration_middles(**scope, spans=_spans())
    mondays = calc.cohort_mondays(window, tz)
    span = calc.cohort_span(mondays, tz)
    weekly = (
        reads.weekly_cohorts(
            organization=organization, weeks=span, filters=query.filters, horizons_days=calc.HORIZONS_DAYS
        )
        if span
        else {}
    )
    cohort = calc.summed(by_source.values())
    sources, source_totals = calc.source_rows(by_source, revenue)
    return LeadsTab(
        kpis=kpis,
        funnel=calc.funnel(cohort),
        lost=cohort.get("lost", 0),
        scores=calc.score_histogram(cohort),
        sources=sources,
        source_totals=source_totals,
        velocity=calc.velocity(middles),
        horizons=calc.HORIZONS_DAYS,
        cohort_weeks=calc.cohort_rows(mondays, weekly, tz=tz, as_of=query.as_of),
    )
