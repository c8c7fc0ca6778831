"""A ReportDocument from a spec, for one viewer, from the computations the pages use.

- Dashboard sections: the tab's cached payload (insights.tabs.tab_payload), its KPI cards (the
  catalogue figures of `page_context`), its charts and its CSV tables: the page's numbers.
- Agent analytics: agents.analytics (the agent page's KPIs, funnel, lead sources, revenue).
- Insights: the open insights and the opportunity pipeline as /insights shows them.
- Pricing: the catalogue's quote figures and the suggestions of pricing.

Permissions are the viewer's (DESIGN section 9.6): an agent's copy holds only the agent's
own numbers (the dashboard sections filtered to the agent, the agent section of the agent,
the insights of the agent's leads); organization-wide sections (campaigns, pricing) are left
out of an agent's copy with a note saying so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from core.catalogue import metric_get, shown
from core.timeranges import NAMED_RANGES
from crm.models import Member, Organization
from insights import tabs
from insights.bi import reads as bi_reads
from insights.tabs import parse_dashboard_query
from insights.tabs.present import metric_trend
from pricing import selectors as pricing_selectors
from pricing.catalogue import figures as pricing_figures
from reports.charts import ValueFormat
from reports.document import Figure, ReportDocument, Section, Table
from reports.spec import DASHBOARD_SECTIONS, FILTER_LABELS, SECTIONS, ReportSpec

Progress = Callable[[float], None]
AGENT_ONLY_LEFT_OUT = {
    "campaigns": "Campaigns are organization-wide, so they are not in an agent's copy.",
    "pricing": "Pricing is for managers and admins, so it is not in an agent's copy.",
}
MAX_TABLE_ROWS = 200


def _figure_of_card(card: dict) -> Figure:
    trend = card.get("trend")
    return Figure(
        name=card["metric"],
        label=card["label"],
        value=card["value"],
        format=card["format"],
        change=trend.text if trend else "",
        sense=trend.sense if trend else "none",
    )


def _table(key: str, title: str, header, rows) -> Table:
    return Table(key=key, title=title, header=tuple(header), rows=tuple(tuple(row) for row in rows))


def dashboard_section(
    name: str, params: dict[str, str], *, organization: Organization, as_of: dt.datetime
) -> Section:
    query = tabs.parse_tab_query(tab=name, organization=organization, params=params, as_of=as_of)
    module = tabs.get_tab(name)
    payload = tabs.tab_payload(name, query)
    context = module.page_context(payload, query)
    charts = tuple(module.charts(payload, query).values())
    tables = tuple(_table(key, t.title, t.header, t.rows) for key, t in module.csv_tables(payload).items())
    notes = ()
    if name == "campaigns" and query.filter_params:
        notes = ("Campaign figures are organization-wide: the filters do not apply to them.",)
    return Section(
        key=name,
        title=SECTIONS[name],
        figures=tuple(_figure_of_card(card) for card in context.get("cards", [])),
        charts=charts,
        tables=tables,
        notes=notes,
    )


def agent_section(
    agent: Member, spec: ReportSpec, *, organization: Organization, as_of: dt.datetime
) -> Section:
    from agents import analytics as agent_analytics
    from agents import charts as agent_charts

    range_value = spec.range if spec.range in NAMED_RANGES else "30d"
    notes = [f"{agent.display_name}'s own numbers."]
    if spec.range not in NAMED_RANGES:
        notes.append("Agent analytics cover named ranges only: the last 30 days are shown.")
    kpis = agent_analytics.kpis(organization=organization, agent=agent, range_value=range_value, as_of=as_of)
    funnel = agent_analytics.funnel(
        organization=organization, agent=agent, range_value=range_value, as_of=as_of
    )
    sources = agent_analytics.lead_sources(
        organization=organization, agent=agent, range_value=range_value, as_of=as_of
    )
    revenue = agent_analytics.revenue_trend(
        organization=organization, agent=agent, period="daily", range_value=range_value, as_of=as_of
    )
    currency = organization.currency
    # (payload key, trend key of agents.metrics.kpi_trends, catalogue name)
    figures = []
    for key, trend_key, name in (
        ("leadsHandled", "leads", "agent.leadsHandled"),
        ("conversionRate", "conversion", "agent.conversionRate"),
        ("totalRevenue", "revenue", "agent.totalRevenue"),
        ("responseTimeHours", "response", "agent.responseTimeHours"),
        ("satisfactionScore", "satisfaction", "agent.satisfactionScore"),
    ):
        metric = metric_get(name)
        trend = metric_trend(name, kpis["trends"][trend_key])
        figures.append(
            Figure(
                name=name,
                label=metric.label,
                value=kpis["kpis"][key],
                format=ValueFormat.money(currency)
                if metric.unit == "money"
                else ValueFormat(metric.display_format),
                change=trend.text,
                sense=trend.sense,
            )
        )
    position = agent_charts.team_position(kpis["kpis"])
    label = kpis.get("dateRange") or range_value
    return Section(
        key="agent",
        title=f"{SECTIONS['agent']}: {agent.display_name}",
        figures=tuple(figures),
        charts=(
            agent_charts.funnel_chart(funnel, range_label=str(label)),
            agent_charts.revenue_chart(revenue, range_label=str(label)),
        ),
        tables=(
            _table(
                "lead-sources",
                "Lead sources",
                ("Source", "Leads", "Conversion rate %", f"Revenue ({currency})"),
                [(r["source"], r["count"], r["conversionRate"], r["revenue"]) for r in sources["sources"]],
            ),
        ),
        notes=(*notes, f"Team position: {position}."),
    )


def insights_section(viewer: Member, agent: Member | None, *, as_of: dt.datetime) -> Section:
    scope = bi_reads.Scope(viewer.organization, agent, viewer.is_manager and agent is None)
    # the /insights page's order: high, medium, low, then impact, then the newest
    insights = bi_reads.top_insights(scope, limit=MAX_TABLE_ROWS)
    _, columns = bi_reads.summary(scope=scope, window=bi_reads.summary_window(as_of))
    return Section(
        key="insights",
        title=SECTIONS["insights"],
        tables=(
            _table(
                "open-insights",
                "Open insights",
                ("Priority", "Type", "Title", "Created"),
                [(i.priority, i.get_type_display(), i.title, i.created_at.date()) for i in insights],
            ),
            _table(
                "pipeline",
                "Opportunity pipeline",
                ("Status", "Opportunities", "Estimated value", "Weighted value"),
                [(c["label"], c["count"], c["estimatedValue"], c["weightedValue"]) for c in columns],
            ),
        ),
        notes=(() if agent is None else (f"The insights of {agent.display_name}'s leads only.",)),
    )


def pricing_section(organization: Organization, window) -> Section:
    figures = []
    for metric, current, change in pricing_figures(organization, window):
        trend = metric_trend(metric.name, change)
        figures.append(
            Figure(
                metric.name,
                metric.label,
                shown(metric, current),
                ValueFormat(metric.display_format),
                trend.text,
                trend.sense,
            )
        )
    rows = [
        (
            s.product.name,
            s.tier,
            float(s.current_price),
            float(s.suggested_price),
            float(s.change_pct),
            round(s.elasticity, 2),
            round(s.revenue_change_pct, 1),
            round(s.confidence, 2),
            s.get_status_display(),
        )
        for s in pricing_selectors.suggestions(organization)[:MAX_TABLE_ROWS]
    ]
    return Section(
        key="pricing",
        title=SECTIONS["pricing"],
        figures=tuple(figures),
        tables=(
            Table(
                "suggestions",
                "Pricing suggestions",
                (
                    "Product",
                    "Tier",
                    "Current price",
                    "Suggested price",
                    "Change %",
                    "Elasticity",
                    "Revenue change %",
                    "Confidence",
                    "Status",
                ),
                tuple(rows),
                (
                    None,
                    None,
                    ValueFormat.money(organization.currency),
                    ValueFormat.money(organization.currency),
                    ValueFormat("percent"),
                    ValueFormat("number"),
                    ValueFormat("percent"),
                    ValueFormat("number"),
                    None,
                ),
            ),
        ),
    )


def _range_label(query) -> str:
    if query.range_name == "custom":
        return f"{query.custom_start:%-d %b %Y} - {query.custom_end:%-d %b %Y}"
    return {
        "24h": "Last 24 hours",
        "7d": "Last 7 days",
        "30d": "Last 30 days",
        "90d": "Last 90 days",
        "1y": "Last year",
    }[query.range_name]


def build_document(
    spec: ReportSpec,
    *,
    viewer: Member,
    as_of: dt.datetime,
    title: str = "Report",
    audience: str = "",
    progress: Progress | None = None,
) -> ReportDocument:
    """The report as `viewer` may see it (see the module docstring)."""
    organization = viewer.organization
    is_agent = not viewer.is_manager
    overrides = {"agent": viewer.email} if is_agent else {}
    params = spec.query_params(**overrides)
    query = parse_dashboard_query(organization=organization, params=params, as_of=as_of)
    subject = viewer if is_agent else None
    if subject is None and spec.filters.get("agent"):
        subject = Member.objects.filter(
            organization=organization, email=spec.filters["agent"].lower()
        ).first()
    sections: list[Section] = []
    left_out: list[str] = []
    for index, key in enumerate(spec.sections):
        if is_agent and key in AGENT_ONLY_LEFT_OUT:
            left_out.append(AGENT_ONLY_LEFT_OUT[key])
        elif key in DASHBOARD_SECTIONS:
            sections.append(dashboard_section(key, params, organization=organization, as_of=as_of))
        elif key == "agent":
            if subject is None:
                left_out.append("Agent analytics need one agent: choose one in the Agent filter.")
            else:
                sections.append(agent_section(subject, spec, organization=organization, as_of=as_of))
        elif key == "insights":
            sections.append(insights_section(viewer, subject if is_agent or subject else None, as_of=as_of))
        elif key == "pricing":
            sections.append(pricing_section(organization, query.window))
        if progress is not None:
            progress((index + 1) / len(spec.sections))
    if left_out:
        sections.append(Section(key="left-out", title="Not in this copy", notes=tuple(left_out)))
    filters = tuple((FILTER_LABELS[name], value) for name, value in query.filter_params.items())
    return ReportDocument(
        title=title,
        organization=organization.name,
        timezone=organization.timezone,
        currency=organization.currency,
        range_label=_range_label(query),
        start=query.window.start,
        end=query.window.end,
        generated_at=as_of,
        filters=filters,
        sections=tuple(sections),
        audience=audience or (f"{viewer.display_name}'s own numbers" if is_agent else ""),
    )
