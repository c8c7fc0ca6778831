"""The Calls tab (docs/metrics.md, "Calls tab"): its title, the schema of its payload (the
API's contract) and the wiring of its two halves, `insights.tabs.compute.calls` (reads and
arithmetic, frozen dataclasses) and `insights.tabs.present.calls` (payload, charts, page
context, CSV tables)."""

from __future__ import annotations

from rest_framework import serializers

from core.api import inline_serializer
from insights.metrics import calls as call_metrics
from insights.tabs import DashboardQuery, TabRangeSerializer
from insights.tabs.compute.calls import calls_tab
from insights.tabs.present.calls import charts, csv_tables, page_context, payload

TITLE = "Calls"


_RATE = {"allow_null": True, "help_text": "percent 0-100, one decimal; null over nothing"}
_BLOCK = inline_serializer(
    "CallsTabKpis",
    {
        "total": serializers.IntegerField(help_text="calls in the window"),
        "successful": serializers.IntegerField(help_text="outcome exactly 'success'"),
        "successRate": serializers.FloatField(**_RATE),
        "averageDuration": serializers.FloatField(
            allow_null=True, help_text="minutes, one decimal, over the calls with a duration"
        ),
        "totalMinutes": serializers.IntegerField(help_text="sum of durations in minutes, rounded half up"),
        "automated": serializers.IntegerField(help_text="calls flagged automated (AI-assisted)"),
        "manual": serializers.IntegerField(help_text="total - automated"),
        "automatedShare": serializers.FloatField(**_RATE),
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
                        "successRate": serializers.FloatField(**_RATE),
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
                "share": serializers.FloatField(**_RATE),
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
                "successRate": serializers.FloatField(**_RATE),
                "share": serializers.FloatField(**_RATE),
            },
            many=True,
        ),
        "otherCountries": inline_serializer(
            "CallsTabOtherCountries",
            {
                "countries": serializers.IntegerField(help_text="countries beyond the top ten"),
                "calls": serializers.IntegerField(),
                "successful": serializers.IntegerField(),
                "successRate": serializers.FloatField(**_RATE),
                "share": serializers.FloatField(**_RATE),
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


def compute(query: DashboardQuery) -> dict:
    """The JSON-able payload (the API returns it as is)."""
    return payload(calls_tab(query), query)


__all__ = ["OPENAPI_RESPONSE", "TITLE", "charts", "compute", "csv_tables", "page_context"]
