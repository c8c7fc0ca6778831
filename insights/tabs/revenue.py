"""The Revenue tab: revenue KPIs with trends, the revenue line per day / week / month with a
straight-line forecast, deal sizes, and revenue by product line, region and kind
(docs/metrics.md, "Revenue tab")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.urls import reverse
from rest_framework import serializers

from core.api import inline_serializer
from core.display import POINTS, Trend
from core.display import trend as display_trend
from core.metrics import ratio
from core.timeranges import Window, local_midnight
from crm.models import SaleKind
from insights import analytics, metrics, selectors
from insights.forecast import DEFAULT_CONFIDENCE, MIN_POINTS, linear_forecast
from insights.metrics import revenue as calc
from insights.selectors import Part
from insights.selectors import revenue as reads
from insights.tabs import (
    CsvTable,
    DashboardQuery,
    TabInputError,
    TabRangeSerializer,
    range_payload,
    records_url,
)
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

TITLE = "Revenue"
EXTRA_PARAMS = {
    "period": "day, week or month: the buckets of the revenue line (default: day for windows of up to "
    "90 days, week for longer ones)",
}
PERIOD_NOUNS = {"day": "day", "week": "week", "month": "month"}
PERIOD_TITLES = {"day": "Day", "week": "Week", "month": "Month"}
KPI_ROWS = (
    # (payload key, label, format, lower is better)
    ("total", "Revenue", "money", False),
    ("monthlyRecurring", "Monthly recurring revenue", "money", False),
    ("oneTime", "One-time revenue", "money", False),
    ("deals", "Deals", "integer", False),
    ("averageDealSize", "Average deal size", "money", False),
    ("winRate", "Win rate", "percent", False),
    ("salesCycleDays", "Sales cycle (median days)", "number", True),
    ("growthRate", "Growth rate", "percent", False),
)


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
ONE_DAY = dt.timedelta(days=1)


# --- schema ---------------------------------------------------------------------------------

_money = serializers.FloatField
_kpi_fields = {
    "total": _money(help_text="sum of amount of the sales closed in W"),
    "deals": serializers.IntegerField(),
    "averageDealSize": _money(allow_null=True),
    "monthlyRecurring": _money(help_text="recurring sales in the last 30 days of W"),
    "oneTime": _money(help_text="sales of every kind but recurring, in W"),
    "winRate": serializers.FloatField(allow_null=True, help_text="won / decided leads created in W, %"),
    "won": serializers.IntegerField(),
    "decided": serializers.IntegerField(),
    "salesCycleDays": serializers.FloatField(allow_null=True, help_text="median days to convert"),
    "convertedLeads": serializers.IntegerField(help_text="leads converted in W (the median's sample)"),
}
_breakdown_row = {
    "revenue": _money(),
    "deals": serializers.IntegerField(),
    "averageDealSize": _money(allow_null=True),
    "share": serializers.FloatField(allow_null=True, help_text="% of the total revenue"),
}
OPENAPI_RESPONSE = inline_serializer(
    "RevenueTab",
    {
        "range": TabRangeSerializer(),
        "period": serializers.ChoiceField(calc.PERIODS),
        "kpis": inline_serializer(
            "RevenueKpis", {**_kpi_fields, "growthRate": serializers.FloatField(allow_null=True)}
        ),
        "previous": inline_serializer("RevenuePreviousKpis", _kpi_fields),
        "trends": serializers.DictField(
            child=serializers.FloatField(allow_null=True),
            help_text="% change against the previous window of each KPI (winRate: the change in "
            "percentage points); null without a base",
        ),
        "series": serializers.ListField(
            child=inline_serializer(
                "RevenueBucket",
                {
                    "bucket": serializers.DateField(help_text="first local day of the bucket"),
                    "label": serializers.CharField(),
                    "from": serializers.DateField(),
                    "to": serializers.DateField(),
                    "complete": serializers.BooleanField(help_text="the whole bucket lies inside W"),
                    "revenue": _money(),
                    "deals": serializers.IntegerField(),
                },
            )
        ),
        "forecast": inline_serializer(
            "RevenueForecast",
            {
                "available": serializers.BooleanField(),
                "reason": serializers.CharField(allow_null=True),
                "method": serializers.CharField(),
                "confidence": serializers.FloatField(),
                "horizon": serializers.IntegerField(),
                "fittedBuckets": serializers.IntegerField(),
                "slope": _money(allow_null=True, help_text="revenue change per bucket"),
                "points": serializers.ListField(
                    child=inline_serializer(
                        "RevenueForecastPoint",
                        {
                            "bucket": serializers.DateField(),
                            "label": serializers.CharField(),
                            "from": serializers.DateField(),
                            "to": serializers.DateField(),
                            "forecast": _money(),
                            "lower": _money(),
                            "upper": _money(),
                        },
                    )
                ),
            },
        ),
        "dealSizes": inline_serializer(
            "RevenueDealSizes",
            {
                "width": _money(allow_null=True),
                "buckets": serializers.ListField(
                    child=inline_serializer(
                        "RevenueDealBucket",
                        {
                            "label": serializers.CharField(),
                            "min": _money(allow_null=True),
                            "max": _money(allow_null=True),
                            "deals": serializers.IntegerField(),
                            "revenue": _money(),
                        },
                    )
                ),
            },
        ),
        "productLines": serializers.ListField(
            child=inline_serializer(
                "RevenueProductLine", {"productLine": serializers.CharField(), **_breakdown_row}
            )
        ),
        "regions": serializers.ListField(
            child=inline_serializer("RevenueRegion", {"region": serializers.CharField(), **_breakdown_row})
        ),
        "kinds": serializers.ListField(
            child=inline_serializer(
                "RevenueKind",
                {
                    "kind": serializers.ChoiceField(SaleKind.values),
                    "label": serializers.CharField(),
                    **_breakdown_row,
                },
            )
        ),
    },
)


# --- input ----------------------------------------------------------------------------------


def parse_extra(params: Mapping[str, Any], *, organization: object) -> dict:
    value = params.get("period")
    if value in (None, ""):
        return {}
    if not isinstance(value, str) or value not in calc.PERIODS:
        raise TabInputError("period", f"Use one of {', '.join(calc.PERIODS)}.")
    return {"period": value}


def period_of(query: DashboardQuery) -> str:
    return query.extra.get("period") or calc.default_period(query.window.length / ONE_DAY)


# --- computation ----------------------------------------------------------------------------


def _last_30_days(window: Window) -> Window:
    # The span of monthlyRecurring, as the overview's revenue block.
    return Window(start=max(window.start, window.end - analytics.RECURRING_SPAN), end=window.end)


def _local_days(window: Window, tz: dt.tzinfo) -> tuple[dt.date, dt.date]:
    """The first and last local days W touches (W is half-open)."""
    last = (window.end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    return window.start.astimezone(tz).date(), last


def _kpis(query: DashboardQuery, trusted: dt.date | None) -> tuple[dict, dict, dict]:
    organization, window, previous = query.organization, query.window, query.previous
    recurring = Q(kind=SaleKind.RECURRING)
    totals = reads.sales_totals(
        organization=organization,
        parts={
            "current": Part(window),
            "previous": Part(previous),
            "current_mrr": Part(_last_30_days(window), recurring),
            "previous_mrr": Part(_last_30_days(previous), recurring),
            "current_one_time": Part(window, ~recurring),
            "previous_one_time": Part(previous, ~recurring),
        },
        filters=query.filters,
        trusted_last_day=trusted,
    )
    t = {name: grouped.get(None, {}) for name, grouped in totals.items()}
    windows = {"current": window, "previous": previous}
    wins = reads.win_counts(organization=organization, windows=windows, filters=query.filters)
    cycles = reads.cycle_middles(organization=organization, windows=windows, filters=query.filters)
    blocks, raw = {}, {}
    for name in windows:
        amount, count = t[name].get("amount_sum", 0), t[name].get("count", 0)
        other = "previous" if name == "current" else None
        block = metrics.revenue_block(
            t[name],
            recurring_last_30d=t[f"{name}_mrr"].get("amount_sum", 0),
            previous_total=t[other].get("amount_sum", 0) if other else 0,
        )
        won, decided = wins[name]["won"], wins[name]["decided"]
        cycle = calc.median_days(cycles[name]["middle"])
        block.update(
            oneTime=metrics.money(t[f"{name}_one_time"].get("amount_sum", 0)),
            winRate=calc.win_rate(won=won, decided=decided),
            won=won,
            decided=decided,
            salesCycleDays=metrics.one_decimal(cycle),
            convertedLeads=cycles[name]["count"],
        )
        if other is None:
            del block["growthRate"]
        blocks[name] = block
        # unrounded, for the trends
        raw[name] = {
            "total": amount,
            "monthlyRecurring": t[f"{name}_mrr"].get("amount_sum", 0),
            "oneTime": t[f"{name}_one_time"].get("amount_sum", 0),
            "deals": count,
            "averageDealSize": ratio(amount, count),
            "salesCycleDays": cycle,
        }
    trends = {key: metrics.trend(raw["current"][key], raw["previous"][key]) for key in raw["current"]}
    # A rate's change is in points, as everywhere on the dashboard, never a percent of a percent.
    trends["winRate"] = calc.win_rate_change(
        won=wins["current"]["won"],
        decided=wins["current"]["decided"],
        won_before=wins["previous"]["won"],
        decided_before=wins["previous"]["decided"],
    )
    return blocks["current"], blocks["previous"], trends


def _series(query: DashboardQuery, period: str, trusted: dt.date | None) -> tuple[list[dict], dict]:
    tz, window = query.organization.tz, query.window
    by_bucket = reads.sales_by_bucket(
        organization=query.organization,
        window=window,
        period=period,
        filters=query.filters,
        trusted_last_day=trusted,
    )
    first_day, last_day = _local_days(window, tz)
    starts = calc.bucket_starts(first_day, last_day, period)
    horizon = calc.FORECAST_HORIZON[period]
    ahead = calc.following_buckets(starts[-1], period, horizon)
    labels = calc.bucket_labels([*starts, *ahead], period)
    series, fit_x, fit_y = [], [], []
    for index, (start, label) in enumerate(zip(starts, labels[: len(starts)], strict=True)):
        end = calc.bucket_last_day(start, period)
        # A bucket cut by the window's edge (a named range starts and ends mid-day) holds
        # only part of its time: it is neither fitted nor linked (a from/to link lists whole days).
        bucket_end = local_midnight(end + ONE_DAY, tz)
        complete = local_midnight(start, tz) >= window.start and bucket_end <= window.end
        totals = by_bucket.get(start, {})
        amount = totals.get("amount_sum", Decimal(0))
        series.append(
            {
                "bucket": start.isoformat(),
                "label": label,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "complete": complete,
                "revenue": metrics.money(amount),
                "deals": totals.get("count", 0),
            }
        )
        # A custom range may end after now: its buckets still to come (today included) hold
        # only the sales so far, and fitting them would bend the trend down.
        if complete and bucket_end <= query.as_of:
            fit_x.append(index)
            fit_y.append(amount)
    forecast = {
        "available": False,
        "reason": None,
        "method": "linear least squares",
        "confidence": DEFAULT_CONFIDENCE * 100,
        "horizon": horizon,
        "fittedBuckets": len(fit_x),
        "slope": None,
        "points": [],
    }
    if len(fit_x) < MIN_POINTS:
        noun = PERIOD_NOUNS[period]
        forecast["reason"] = (
            f"A forecast needs at least {MIN_POINTS} complete {noun}s in the period; "
            f"this one has {len(fit_x)}. Choose a longer range or shorter buckets."
        )
        return series, forecast
    fit = linear_forecast(fit_x, fit_y, at=range(len(starts), len(starts) + horizon))
    forecast.update(available=True, slope=metrics.money(fit.slope))
    for start, label, prediction in zip(ahead, labels[len(starts) :], fit.predictions, strict=True):
        # Revenue is not negative: the line and its interval are floored at zero.
        forecast["points"].append(
            {
                "bucket": start.isoformat(),
                "label": label,
                "from": start.isoformat(),
                "to": calc.bucket_last_day(start, period).isoformat(),
                "forecast": metrics.money(max(prediction.value, 0.0)),
                "lower": metrics.money(max(prediction.lower, 0.0)),
                "upper": metrics.money(max(prediction.upper, 0.0)),
            }
        )
    return series, forecast


def _deal_sizes(query: DashboardQuery) -> dict:
    extent = reads.deal_size_extent(
        organization=query.organization, window=query.window, filters=query.filters
    )
    width, buckets = calc.deal_size_buckets(largest=extent["largest"], has_negative=extent["has_negative"])
    counts = reads.deal_size_counts(
        organization=query.organization, window=query.window, filters=query.filters, buckets=buckets
    )
    return {
        "width": metrics.money(width),
        "buckets": [
            {
                "label": calc.deal_bucket_label(b, width),
                "min": metrics.money(b.low),
                "max": metrics.money(b.high),
                "deals": c["count"],
                "revenue": metrics.money(c["amount_sum"]),
            }
            for b, c in zip(buckets, counts, strict=True)
        ],
    }


def compute(query: DashboardQuery) -> dict:
    organization, window = query.organization, query.window
    period = period_of(query)
    trusted = selectors.trusted_through(selectors.fill_state(organization))
    kpis, previous, trends = _kpis(query, trusted)
    series, forecast = _series(query, period, trusted)
    payload = {
        "range": range_payload(query),
        "period": period,
        "kpis": kpis,
        "previous": previous,
        "trends": trends,
        "series": series,
        "forecast": forecast,
        "dealSizes": _deal_sizes(query),
    }
    total = Decimal(str(kpis["total"]))
    for b in BREAKDOWNS:
        grouped = reads.sales_totals(
            organization=organization,
            parts={"current": Part(window)},
            filters=query.filters,
            trusted_last_day=trusted,
            group_by=b.column,
        )
        payload[b.key] = calc.breakdown_rows(grouped["current"], total=total, key=b.row_key)
    for row in payload["kinds"]:
        row["label"] = SaleKind(row["kind"]).label if row["kind"] in SaleKind.values else row["kind"]
    return payload


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
    if _last_30_days(query.window).start != query.window.start:
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
            tooltip=f"revenue {currency} {b['revenue']:,.2f}",
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


def _card_trend(key: str, payload: dict, *, lower_is_better: bool) -> Trend | None:
    if key == "growthRate":
        # The growth rate is itself a change: its card shows the previous total, not a trend.
        return None
    if key == "winRate":
        return display_trend(payload["trends"][key], unit=POINTS)
    return display_trend(payload["trends"][key], lower_is_better=lower_is_better)


def page_context(payload: dict, query: DashboardQuery) -> dict:
    money = ValueFormat.money(payload["range"]["currency"])
    formats = {
        "money": money,
        "integer": ValueFormat("integer"),
        "percent": ValueFormat("percent"),
        "number": ValueFormat("number"),
    }
    sales = sales_url(query)
    hrefs = {"total": sales, "deals": sales, "averageDealSize": sales, "monthlyRecurring": mrr_href(query)}
    cards = []
    for key, label, kind, lower_is_better in KPI_ROWS:
        change = _card_trend(key, payload, lower_is_better=lower_is_better)
        note = (
            f"previous period {format_value(payload['previous']['total'], money)}"
            if key == "growthRate"
            else _note(key, payload)
        )
        cards.append(
            {
                "key": key,
                "label": label,
                "value": payload["kpis"][key],
                "format": formats[kind],
                "trend": change,
                "href": hrefs.get(key),
                "note": note,
            }
        )
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
            f"{label} % (change in points)" if key == "winRate" else label,
            kpis[key],
            previous.get(key),
            None if key == "growthRate" else trends[key],
        )
        for key, label, _kind, _lower in KPI_ROWS
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
