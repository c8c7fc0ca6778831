"""The Calls tab: call KPIs against the previous window, calls per day (per hour for a 24h
window), outcomes, the automated (AI-assisted) share, success by country and the weekday x
hour heatmaps (docs/metrics.md, "Calls tab"). Every count links to the calls behind it."""

from __future__ import annotations

from rest_framework import serializers

from core.api import inline_serializer
from core.display import POINTS
from core.display import trend as display_trend
from core.metrics import percent
from insights import metrics
from insights.metrics import calls as call_metrics
from insights.selectors import calls as reads
from insights.tabs import CsvTable, DashboardQuery, TabRangeSerializer, range_payload, records_url
from reports.charts import BarChart, DonutChart, HeatmapChart, LineChart, Point, Series, ValueFormat

TITLE = "Calls"
SUCCESS = "success"
# The donut draws the biggest outcomes and one "Other" slice: the palette has eight colours.
DONUT_SLICES = 8
PERIODS = {
    "24h": "the last 24 hours",
    "7d": "the last 7 days",
    "30d": "the last 30 days",
    "90d": "the last 90 days",
    "1y": "the last year",
}

# --- the payload's schema -----------------------------------------------------------------

_pct = {"allow_null": True, "help_text": "percent 0-100, one decimal; null over nothing"}
_BLOCK = inline_serializer(
    "CallsTabKpis",
    {
        "total": serializers.IntegerField(help_text="calls in the window"),
        "successful": serializers.IntegerField(help_text="outcome exactly 'success'"),
        "successRate": serializers.FloatField(**_pct),
        "averageDuration": serializers.FloatField(
            allow_null=True, help_text="minutes, one decimal, over the calls with a duration"
        ),
        "totalMinutes": serializers.IntegerField(help_text="sum of durations in minutes, rounded half up"),
        "automated": serializers.IntegerField(help_text="calls flagged automated (AI-assisted)"),
        "manual": serializers.IntegerField(help_text="total - automated"),
        "automatedShare": serializers.FloatField(**_pct),
    },
)
_CHANGE = {"allow_null": True}
OPENAPI_RESPONSE = inline_serializer(
    "CallsTab",
    {
        "range": TabRangeSerializer(),
        "kpis": inline_serializer(
            "CallsTabKpiComparison",
            {
                "current": _BLOCK,
                "previous": _BLOCK,
                "changes": inline_serializer(
                    "CallsTabChanges",
                    {
                        "total": serializers.FloatField(
                            **_CHANGE, help_text="% change; null when the previous is 0"
                        ),
                        "successRate": serializers.FloatField(
                            **_CHANGE, help_text="change in percentage points"
                        ),
                        "averageDuration": serializers.FloatField(**_CHANGE, help_text="% change"),
                        "totalMinutes": serializers.FloatField(**_CHANGE, help_text="% change"),
                        "automatedShare": serializers.FloatField(
                            **_CHANGE, help_text="change in percentage points"
                        ),
                    },
                ),
            },
        ),
        "series": inline_serializer(
            "CallsTabSeries",
            {
                "bucket": serializers.ChoiceField(
                    ["day", "hour"], help_text="hour when the window is at most 25 hours"
                ),
                "points": inline_serializer(
                    "CallsTabPoint",
                    {
                        "label": serializers.CharField(),
                        "day": serializers.DateField(help_text="local day"),
                        "hour": serializers.IntegerField(
                            allow_null=True, help_text="local hour (hourly series only)"
                        ),
                        "calls": serializers.IntegerField(),
                        "successful": serializers.IntegerField(),
                        "successRate": serializers.FloatField(**_pct),
                        "partial": serializers.BooleanField(help_text="the window starts inside this bucket"),
                    },
                    many=True,
                ),
            },
        ),
        "outcomes": inline_serializer(
            "CallsTabOutcome",
            {
                "outcome": serializers.CharField(
                    help_text=f"the outcome text, '{call_metrics.NO_OUTCOME}' when empty"
                ),
                "calls": serializers.IntegerField(),
                "share": serializers.FloatField(**_pct),
            },
            many=True,
        ),
        "countries": inline_serializer(
            "CallsTabCountry",
            {
                "country": serializers.CharField(
                    help_text=f"ISO-2 of the lead's contact, '{call_metrics.UNKNOWN_COUNTRY}' "
                    "without a lead, contact or country"
                ),
                "calls": serializers.IntegerField(),
                "successful": serializers.IntegerField(),
                "successRate": serializers.FloatField(**_pct),
                "share": serializers.FloatField(**_pct),
            },
            many=True,
        ),
        "otherCountries": inline_serializer(
            "CallsTabOtherCountries",
            {
                "countries": serializers.IntegerField(help_text="countries beyond the top ten"),
                "calls": serializers.IntegerField(),
                "successful": serializers.IntegerField(),
                "successRate": serializers.FloatField(**_pct),
                "share": serializers.FloatField(**_pct),
            },
            allow_null=True,
        ),
        "heatmap": inline_serializer(
            "CallsTabHeatmap",
            {
                "weekdays": serializers.ListField(child=serializers.CharField(), help_text="rows, Mon..Sun"),
                "calls": serializers.ListField(
                    child=serializers.ListField(child=serializers.IntegerField()),
                    help_text="7 rows x 24 local hours",
                ),
                "successful": serializers.ListField(
                    child=serializers.ListField(child=serializers.IntegerField())
                ),
                "successRate": serializers.ListField(
                    child=serializers.ListField(child=serializers.FloatField(allow_null=True)),
                    help_text="null where there was no call",
                ),
            },
        ),
    },
)


# --- the payload --------------------------------------------------------------------------


def compute(query: DashboardQuery) -> dict:
    """Four or five queries whatever the data size (insights.selectors.calls)."""
    organization, window, previous = query.organization, query.window, query.previous
    scope = {"organization": organization, "window": window, "filters": query.filters}
    totals = reads.call_totals(previous=previous, **scope)
    by_hour = reads.calls_by_local_hour(**scope)
    groups = reads.calls_by_outcome_and_country(**scope)
    current = call_metrics.kpi_block(totals.current)
    hourly = window.length <= call_metrics.HOURLY_UP_TO
    points = (call_metrics.hourly_points if hourly else call_metrics.daily_points)(
        window, organization.tz, by_hour
    )
    countries, other = call_metrics.country_rows(groups, total=current["total"])
    return {
        "range": range_payload(query),
        "kpis": {
            "current": current,
            "previous": call_metrics.kpi_block(totals.previous),
            "changes": call_metrics.kpi_changes(totals.current, totals.previous),
        },
        "series": {"bucket": "hour" if hourly else "day", "points": points},
        "outcomes": call_metrics.outcome_rows(groups, total=current["total"]),
        "countries": countries,
        "otherCountries": other,
        "heatmap": call_metrics.heatmap(by_hour),
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


def _period_text(query: DashboardQuery) -> str:
    if query.range_name == "custom" and query.custom_start and query.custom_end:
        return f"from {query.custom_start.isoformat()} to {query.custom_end.isoformat()}"
    return PERIODS.get(query.range_name, "this period")


def page_context(payload: dict, query: DashboardQuery) -> dict:
    current, previous, changes = (payload["kpis"][k] for k in ("current", "previous", "changes"))
    everything = records_url("calls", query)
    cards = [
        {
            "key": "total",
            "label": "Calls",
            "value": current["total"],
            "previous": previous["total"],
            "format": "integer",
            "trend": display_trend(changes["total"]),
            "href": everything,
            "note": f"{current['successful']} successful",
        },
        {
            "key": "successRate",
            "label": "Success rate",
            "value": current["successRate"],
            "previous": previous["successRate"],
            "format": "percent",
            "trend": display_trend(changes["successRate"], unit=POINTS),
            "href": records_url("calls", query, outcome=SUCCESS),
            "note": f"{current['successful']} of {current['total']} calls",
        },
        {
            "key": "averageDuration",
            "label": "Average duration (min)",
            "value": current["averageDuration"],
            "previous": previous["averageDuration"],
            "format": "number",
            "trend": display_trend(changes["averageDuration"]),
            "href": everything,
            "note": "over calls with a duration",
        },
        {
            "key": "totalMinutes",
            "label": "Minutes on calls",
            "value": current["totalMinutes"],
            "previous": previous["totalMinutes"],
            "format": "integer",
            "trend": display_trend(changes["totalMinutes"]),
            "href": everything,
            "note": "durations summed",
        },
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
            "share": metrics.one_decimal(percent(current["manual"], current["total"])),
            "href": records_url("calls", query, automated="false"),
        },
    ]
    return {
        "cards": cards,
        "outcome_rows": outcomes,
        "country_rows": countries,
        "automation_rows": automation,
        "automated_change": display_trend(changes["automatedShare"], unit=POINTS),
        "period_text": _period_text(query),
        "filtered": bool(query.filter_params),
    }


def csv_tables(payload: dict) -> dict[str, CsvTable]:
    current, previous, changes = (payload["kpis"][k] for k in ("current", "previous", "changes"))
    kpi_rows = (
        ("Calls", "total"),
        ("Successful calls", "successful"),
        ("Success rate % (trend in points)", "successRate"),
        ("Average duration (min)", "averageDuration"),
        ("Minutes on calls", "totalMinutes"),
        ("Automated calls", "automated"),
        ("Automated share % (trend in points)", "automatedShare"),
    )

    def change(key: str) -> float | None:
        # Successful and automated counts have no card of their own: their % change.
        return changes[key] if key in changes else metrics.trend(current[key], previous[key])

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
            tuple((label, current[k], previous[k], change(k)) for label, k in kpi_rows),
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
