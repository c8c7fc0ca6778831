"""How the Calls tab shows its figures (docs/metrics.md, "Calls tab"): the payload, the
charts, the page context and the CSV tables. Every count links to the calls behind it."""

from __future__ import annotations

from core.catalogue import metric_get, shown
from core.metrics import percent, trend_percent
from insights.metrics import calls as call_metrics
from insights.tabs import CsvTable, DashboardQuery, range_payload, records_url
from insights.tabs.compute.calls import CallsTab
from insights.tabs.present import (
    csv_label,
    metric_card,
    metric_trend,
    period_text,
    shown_comparison,
)
from reports.charts import BarChart, DonutChart, HeatmapChart, LineChart, Point, Series, ValueFormat

SUCCESS = "success"
# The donut draws the biggest outcomes and one "Other" slice: the palette has eight colours.
DONUT_SLICES = 8
# The KPI block's catalogue figures: payload field -> catalogue metric (insights/catalogue.py);
# `manual` (total - automated) is a count shown beside the automated share.
KPI_METRICS = {
    "total": "calls.total",
    "successful": "calls.successful",
    "successRate": "calls.successRate",
    "averageDuration": "calls.averageDuration",
    "totalMinutes": "calls.totalMinutes",
    "automated": "calls.automated",
    "automatedShare": "calls.automatedShare",
}
# The tiles, in order, and the rows of the KPI CSV table, in order.
CARDS = ("total", "successRate", "averageDuration", "totalMinutes")
CSV_ROWS = (
    "total",
    "successful",
    "successRate",
    "averageDuration",
    "totalMinutes",
    "automated",
    "automatedShare",
)


def payload(tab: CallsTab, query: DashboardQuery) -> dict:
    """The JSON-able payload: the KPI figures rounded once by their catalogue units."""
    return {
        "range": range_payload(query),
        "kpis": shown_comparison(tab.kpis, KPI_METRICS),
        "series": {"bucket": tab.bucket, "points": tab.points},
        "outcomes": tab.outcomes,
        "countries": tab.countries,
        "otherCountries": tab.other_countries,
        "heatmap": tab.heatmap,
    }


# --- links --------------------------------------------------------------------------------


def _bucket_href(point: dict, query: DashboardQuery, **extra: object) -> str | None:
    """The calls of a day (or an hour of it); none for a bucket W starts inside: the records
    page filters whole local days, so it would list calls from before W."""
    if point["partial"]:
        return None
    return records_url(
        "calls", query, **{"from": point["day"], "to": point["day"]}, hour=point["hour"], **extra
    )


def _country_label(code: str) -> str:
    return "Unknown" if code == call_metrics.UNKNOWN_COUNTRY else code


def _weekday_hour_hrefs(calls: list[list[int]], query: DashboardQuery) -> list[list[str | None]]:
    return [
        [records_url("calls", query, weekday=w + 1, hour=h) if n else None for h, n in enumerate(row)]
        for w, row in enumerate(calls)
    ]


# --- display --------------------------------------------------------------------------------


def charts(payload: dict, query: DashboardQuery) -> dict:
    kpis, series, heat = payload["kpis"]["current"], payload["series"], payload["heatmap"]
    integer, pct = ValueFormat("integer"), ValueFormat("percent")
    partial_note = "The period starts inside this bucket: calls before its start are not counted"

    def line_point(point: dict, value_key: str, **extra: object) -> Point:
        return Point(
            point["label"],
            point[value_key],
            href=_bucket_href(point, query, **extra),
            tooltip=partial_note if point["partial"] else None,
        )

    per = "hour" if series["bucket"] == "hour" else "day"
    line = LineChart(
        f"Calls per {per}",
        (
            Series("Calls", tuple(line_point(p, "calls") for p in series["points"])),
            Series(
                "Successful", tuple(line_point(p, "successful", outcome=SUCCESS) for p in series["points"])
            ),
        ),
        integer,
        x_label="Local hour" if per == "hour" else "Local day",
        y_label="Calls",
    )
    outcomes = payload["outcomes"]
    shown = outcomes if len(outcomes) <= DONUT_SLICES else outcomes[: DONUT_SLICES - 1]
    slices = [
        Point(o["outcome"], o["calls"], href=records_url("calls", query, outcome=o["outcome"])) for o in shown
    ]
    if len(shown) < len(outcomes):
        rest = outcomes[len(shown) :]
        slices.append(
            Point(
                f"Other outcomes ({len(rest)})",
                sum(o["calls"] for o in rest),
                tooltip="See the outcomes table for each of them",
            )
        )
    countries = payload["countries"]
    return {
        "series": line,
        "outcomes": DonutChart("Calls by outcome", tuple(slices), integer),
        "automation": DonutChart(
            "Automated (AI-assisted) calls",
            (
                Point("Automated", kpis["automated"], href=records_url("calls", query, automated="true")),
                Point("Manual", kpis["manual"], href=records_url("calls", query, automated="false")),
            ),
            integer,
        ),
        "country_calls": BarChart(
            "Calls by country",
            (
                Series(
                    "Calls",
                    tuple(
                        Point(
                            _country_label(c["country"]),
                            c["calls"],
                            href=records_url("calls", query, country=c["country"]),
                        )
                        for c in countries
                    ),
                ),
            ),
            integer,
            horizontal=True,
            category_label="Country",
            value_label="Calls",
        ),
        "country_success": BarChart(
            "Success rate by country",
            (
                Series(
                    "Success rate",
                    tuple(
                        Point(
                            _country_label(c["country"]),
                            c["successRate"],
                            href=records_url("calls", query, country=c["country"], outcome=SUCCESS),
                            tooltip=f"{c['successful']} of {c['calls']} calls successful",
                        )
                        for c in countries
                    ),
                ),
            ),
            pct,
            horizontal=True,
            category_label="Country",
            value_label="Success rate",
        ),
        "heatmap_calls": HeatmapChart(
            "Calls by weekday and hour",
            tuple(f"{h:02d}" for h in call_metrics.HOURS),
            tuple(heat["weekdays"]),
            heat["calls"],
            integer,
            hrefs=_weekday_hour_hrefs(heat["calls"], query),
            x_label="Local hour",
            y_label="Weekday",
        ),
        "heatmap_success": HeatmapChart(
            "Success rate by weekday and hour",
            tuple(f"{h:02d}" for h in call_metrics.HOURS),
            tuple(heat["weekdays"]),
            heat["successRate"],
            pct,
            hrefs=_weekday_hour_hrefs(heat["calls"], query),
            x_label="Local hour",
            y_label="Weekday",
        ),
    }


def page_context(payload: dict, query: DashboardQuery) -> dict:
    current, previous, changes = (payload["kpis"][k] for k in ("current", "previous", "changes"))
    everything = records_url("calls", query)
    notes = {
        "total": f"{current['successful']} successful",
        "successRate": f"{current['successful']} of {current['total']} calls",
        "averageDuration": "over calls with a duration",
        "totalMinutes": "durations summed",
    }
    cards = [
        metric_card(
            KPI_METRICS[key],
            currency=payload["range"]["currency"],
            value=current[key],
            previous=previous[key],
            change=changes[key],
            key=key,
            href=records_url("calls", query, outcome=SUCCESS) if key == "successRate" else everything,
            note=notes[key],
        )
        for key in CARDS
    ]
    outcomes = [{**o, "href": records_url("calls", query, outcome=o["outcome"])} for o in payload["outcomes"]]
    countries = [
        {
            **c,
            "label": _country_label(c["country"]),
            "href": records_url("calls", query, country=c["country"]),
            "success_href": records_url("calls", query, country=c["country"], outcome=SUCCESS),
        }
        for c in payload["countries"]
    ]
    automation = [
        {
            "label": "Automated (AI-assisted)",
            "calls": current["automated"],
            "share": current["automatedShare"],
            "href": records_url("calls", query, automated="true"),
        },
        {
            "label": "Manual",
            "calls": current["manual"],
            "share": shown(
                metric_get(KPI_METRICS["automatedShare"]), percent(current["manual"], current["total"])
            ),
            "href": records_url("calls", query, automated="false"),
        },
    ]
    return {
        "cards": cards,
        "outcome_rows": outcomes,
        "country_rows": countries,
        "automation_rows": automation,
        "automated_change": metric_trend(KPI_METRICS["automatedShare"], changes["automatedShare"]),
        "period_text": period_text(query),
        "filtered": bool(query.filter_params),
    }


def csv_tables(payload: dict) -> dict[str, CsvTable]:
    current, previous, changes = (payload["kpis"][k] for k in ("current", "previous", "changes"))

    def change(key: str) -> float | None:
        # Successful and automated counts have no card of their own: their % change.
        return changes[key] if key in changes else trend_percent(current=current[key], previous=previous[key])

    other = payload["otherCountries"]
    country_rows = tuple(
        (c["country"], c["calls"], c["successful"], c["successRate"], c["share"])
        for c in payload["countries"]
    )
    if other:
        country_rows += (
            (
                f"Other ({other['countries']} countries)",
                other["calls"],
                other["successful"],
                other["successRate"],
                other["share"],
            ),
        )
    heat = payload["heatmap"]
    return {
        "kpis": CsvTable(
            "Call KPIs, current vs previous period",
            ("metric", "current", "previous", "trend"),
            tuple((csv_label(KPI_METRICS[k]), current[k], previous[k], change(k)) for k in CSV_ROWS),
        ),
        "daily": CsvTable(
            f"Calls per {payload['series']['bucket']}",
            ("day", "hour", "calls", "successful", "success rate", "partial"),
            tuple(
                (
                    p["day"],
                    p["hour"],
                    p["calls"],
                    p["successful"],
                    p["successRate"],
                    "yes" if p["partial"] else "no",
                )
                for p in payload["series"]["points"]
            ),
        ),
        "outcomes": CsvTable(
            "Calls by outcome",
            ("outcome", "calls", "share %"),
            tuple((o["outcome"], o["calls"], o["share"]) for o in payload["outcomes"]),
        ),
        "countries": CsvTable(
            "Calls by country", ("country", "calls", "successful", "success rate", "share %"), country_rows
        ),
        "heatmap": CsvTable(
            "Calls by weekday and local hour",
            ("weekday", "hour", "calls", "successful", "success rate"),
            tuple(
                (day, hour, heat["calls"][w][hour], heat["successful"][w][hour], heat["successRate"][w][hour])
                for w, day in enumerate(heat["weekdays"])
                for hour in call_metrics.HOURS
            ),
        ),
    }
