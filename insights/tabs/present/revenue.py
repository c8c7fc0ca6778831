"""How the Revenue tab shows its figures (docs/metrics.md, "Revenue tab"): the payload, the
charts, the page context and the CSV tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.urls import reverse

from crm.models import SaleKind
from insights.metrics import revenue as calc
from insights.tabs import CsvTable, DashboardQuery, range_payload, records_url
from insights.tabs.compute.revenue import PERIOD_NOUNS, RevenueTab, last_30_days
from insights.tabs.present import csv_label, metric_card, shown_figures
from reports.charts import (
    Band,
    BandPoint,
    BarChart,
    DonutChart,
    LineChart,
    Point,
    Series,
    ValueFormat,
    format_value,
)

PERIOD_TITLES = {"day": "Day", "week": "Week", "month": "Month"}
# The KPI tiles and the rows of the KPI CSV table, in order: payload field -> catalogue metric
# (insights/catalogue.py). won, decided and convertedLeads are counts shown in the notes.
KPI_METRICS = {
    "total": "revenue.total",
    "monthlyRecurring": "revenue.monthlyRecurring",
    "oneTime": "revenue.oneTime",
    "deals": "revenue.deals",
    "averageDealSize": "revenue.averageDealSize",
    "winRate": "revenue.winRate",
    "salesCycleDays": "revenue.salesCycleDays",
    "growthRate": "revenue.growthRate",
}
# The growth rate is itself a change: its tile shows the previous total, not a trend.
WITHOUT_CHANGE = ("growthRate",)


@dataclass(frozen=True)
class Breakdown:
    """Revenue grouped by one column: its payload list, chart, CSV table and drill-down."""

    key: str  # payload key
    column: str  # the rollup column grouped by
    row_key: str  # the row's name field, also the drill-down parameter
    slug: str  # chart key, CSV table key, page anchor
    title: str
    heading: str
    plural: str
    note: str = ""


# In page order: kinds beside the deal sizes, then product lines beside regions.
BREAKDOWNS = (
    Breakdown("kinds", "kind", "kind", "kinds", "Revenue by kind", "Kind", "kinds"),
    Breakdown(
        "productLines",
        "product_line",
        "productLine",
        "product-lines",
        "Revenue by product line",
        "Product line",
        "product lines",
    ),
    Breakdown(
        "regions",
        "region",
        "region",
        "regions",
        "Revenue by region",
        "Region",
        "regions",
        note="of the sale's lead",
    ),
)
RANGE_WORDS = {"24h": "24 hours", "7d": "7 days", "30d": "30 days", "90d": "90 days", "1y": "year"}


def payload(tab: RevenueTab, query: DashboardQuery) -> dict:
    """The JSON-able payload: the KPI figures rounded once by their catalogue units."""
    return {
        "range": range_payload(query),
        "period": tab.period,
        "kpis": shown_figures(tab.kpis.current, KPI_METRICS),
        "previous": shown_figures(tab.kpis.previous, KPI_METRICS),
        "trends": dict(tab.kpis.changes),
        "series": tab.series,
        "forecast": tab.forecast,
        "dealSizes": tab.deal_sizes,
        **tab.breakdowns,
    }


# --- display --------------------------------------------------------------------------------


def sales_url(query: DashboardQuery, **extra: object) -> str:
    """records_url("sales", ...), also for kind=: records_url's first parameter is itself
    named `kind`, so it cannot take the sales kind as a keyword."""
    sale_kind = extra.pop("kind", None)
    url = records_url("sales", query, **extra)
    if sale_kind is None:
        return url
    return f"{url.split('?', 1)[0]}?{query.query_string(**extra, kind=sale_kind)}"


def bucket_href(query: DashboardQuery, point: Mapping[str, Any]) -> str | None:
    """The sales of a bucket; none for a bucket cut by the window's edge (a named range starts
    and ends mid-day), since a from/to link lists whole local days."""
    if not point["complete"]:
        return None
    return sales_url(query, **{"from": point["from"], "to": point["to"]})


def deal_bucket_href(query: DashboardQuery, bucket: Mapping[str, Any]) -> str:
    bounds = {}
    if bucket["min"] is not None:
        bounds["dealMin"] = calc.amount_param(Decimal(str(bucket["min"])))
    if bucket["max"] is not None:
        bounds["dealMax"] = calc.amount_param(Decimal(str(bucket["max"])))
    return sales_url(query, **bounds)


def breakdown_href(query: DashboardQuery, breakdown: Breakdown, value: str) -> str | None:
    # No link for "(none)": an empty filter value means "all" on the records page.
    if value == calc.NONE_LABEL:
        return None
    return sales_url(query, **{breakdown.row_key: value})


def mrr_href(query: DashboardQuery) -> str | None:
    """The recurring sales behind monthlyRecurring when its span is all of W (W of 30 days or
    less); a longer W's last 30 days start mid-day, which a from/to link cannot express."""
    if last_30_days(query.window).start != query.window.start:
        return None
    return sales_url(query, kind=SaleKind.RECURRING.value)


def _row_name(breakdown: Breakdown, row: Mapping[str, Any]) -> str:
    return row["label"] if breakdown.key == "kinds" else row[breakdown.row_key]


def _deals(count: int) -> str:
    return f"{count} deal" if count == 1 else f"{count} deals"


def charts(payload: dict, query: DashboardQuery) -> dict:
    currency = payload["range"]["currency"]
    money = ValueFormat.money(currency)
    period, forecast = payload["period"], payload["forecast"]
    noun = PERIOD_NOUNS[period]
    actual = tuple(
        Point(
            p["label"],
            p["revenue"],
            href=bucket_href(query, p),
            tooltip=_deals(p["deals"]) + ("" if p["complete"] else f", part of the {noun} only"),
        )
        for p in payload["series"]
    )
    lines, band = [Series("Revenue", actual)], None
    if forecast["available"]:
        lines.append(
            Series(
                "Forecast", tuple(Point(p["label"], p["forecast"]) for p in forecast["points"]), dashed=True
            )
        )
        band = Band(
            f"{forecast['confidence']:.0f}% prediction interval",
            tuple(BandPoint(p["label"], p["lower"], p["upper"]) for p in forecast["points"]),
        )
    deal_points = tuple(
        Point(
            b["label"],
            b["deals"],
            href=deal_bucket_href(query, b),
            tooltip=f"revenue {format_value(b['revenue'], money)}",
        )
        for b in payload["dealSizes"]["buckets"]
    )
    out = {
        "revenue_line": LineChart(
            f"Revenue per {noun}",
            tuple(lines),
            money,
            x_label="Week starting" if period == "week" else None,
            band=band,
        ),
        "deal_sizes": BarChart(
            "Deal sizes",
            (Series("Deals", deal_points),),
            ValueFormat("integer"),
            category_label=f"Amount ({currency})",
            value_label="Deals",
        ),
    }
    for b in BREAKDOWNS:
        points = tuple(
            Point(
                _row_name(b, row),
                row["revenue"],
                href=breakdown_href(query, b, row[b.row_key]),
                tooltip=_deals(row["deals"]),
            )
            for row in payload[b.key]
        )
        if b.key == "kinds":
            out[b.slug] = DonutChart(b.title, points, money)
        else:
            out[b.slug] = BarChart(b.title, (Series("Revenue", points),), money, horizontal=True)
    return out


def _note(key: str, payload: dict) -> str:
    kpis = payload["kpis"]
    return {
        "monthlyRecurring": "recurring sales, last 30 days",
        "oneTime": "every kind but recurring",
        "deals": "sales closed",
        "winRate": f"{kpis['won']} won of {kpis['decided']} decided",
        "salesCycleDays": f"{kpis['convertedLeads']} leads converted",
    }.get(key, "")


def _when(query: DashboardQuery) -> str:
    if query.range_name == "custom" and query.custom_start and query.custom_end:
        return f"from {query.custom_start:%d %b %Y} to {query.custom_end:%d %b %Y}"
    return f"in the last {RANGE_WORDS.get(query.range_name, query.range_name)}"


def page_context(payload: dict, query: DashboardQuery) -> dict:
    currency = payload["range"]["currency"]
    money = ValueFormat.money(currency)
    sales = sales_url(query)
    hrefs = {"total": sales, "deals": sales, "averageDealSize": sales, "monthlyRecurring": mrr_href(query)}
    cards = [
        metric_card(
            name,
            currency=currency,
            value=payload["kpis"][key],
            change=payload["trends"].get(key),
            with_trend=key not in WITHOUT_CHANGE,
            key=key,
            href=hrefs.get(key),
            note=(
                f"previous period {format_value(payload['previous']['total'], money)}"
                if key == "growthRate"
                else _note(key, payload)
            ),
        )
        for key, name in KPI_METRICS.items()
    ]
    dashboard, tab_url = reverse("insights-dashboard"), reverse("insights-tab", kwargs={"name": "revenue"})
    period_links = [
        {
            "value": p,
            "label": PERIOD_TITLES[p],
            "active": p == payload["period"],
            "url": f"{dashboard}?{query.query_string(tab='revenue', period=p)}",
            "hx_url": f"{tab_url}?{query.query_string(period=p)}",
        }
        for p in calc.PERIODS
    ]
    charted = charts(payload, query)
    breakdowns = [
        {
            "key": b.slug,
            "title": b.title,
            "heading": b.heading,
            "note": b.note,
            "empty": b.plural,
            "chart": charted[b.slug],
            "rows": [
                {**row, "name": _row_name(b, row), "href": breakdown_href(query, b, row[b.row_key])}
                for row in payload[b.key]
            ],
        }
        for b in BREAKDOWNS
    ]
    return {
        "cards": cards,
        "period_links": period_links,
        "period_noun": PERIOD_NOUNS[payload["period"]],
        "money_format": money,
        "when": _when(query),
        "won_href": records_url("leads", query, stage="converted"),
        "deal_rows": [{**b, "href": deal_bucket_href(query, b)} for b in payload["dealSizes"]["buckets"]],
        "breakdowns": breakdowns,
    }


def csv_tables(payload: dict) -> dict[str, CsvTable]:
    kpis, previous, trends = payload["kpis"], payload["previous"], payload["trends"]
    kpi_rows = tuple(
        (
            csv_label(name, with_change=key not in WITHOUT_CHANGE),
            kpis[key],
            previous.get(key),
            None if key in WITHOUT_CHANGE else trends[key],
        )
        for key, name in KPI_METRICS.items()
    )
    actual = tuple((p["bucket"], p["revenue"], p["deals"], None, None, None) for p in payload["series"])
    ahead = tuple(
        (p["bucket"], None, None, p["forecast"], p["lower"], p["upper"])
        for p in payload["forecast"]["points"]
    )
    tables = {
        "kpis": CsvTable("Revenue KPIs", ("metric", "current", "previous", "change %"), kpi_rows),
        "series": CsvTable(
            f"Revenue per {PERIOD_NOUNS[payload['period']]} and forecast",
            ("bucket", "revenue", "deals", "forecast", "lower", "upper"),
            actual + ahead,
        ),
        "deal-sizes": CsvTable(
            "Deal sizes",
            ("from", "to", "deals", "revenue"),
            tuple((b["min"], b["max"], b["deals"], b["revenue"]) for b in payload["dealSizes"]["buckets"]),
        ),
    }
    for b in BREAKDOWNS:
        tables[b.slug] = CsvTable(
            b.title,
            (b.heading.lower(), "revenue", "deals", "average deal size", "share %"),
            tuple(
                (row[b.row_key], row["revenue"], row["deals"], row["averageDealSize"], row["share"])
                for row in payload[b.key]
            ),
        )
    return tables
