"""The Overview tab (docs/metrics.md, "Overview tab"): its title, the schema of its payload
(the API's contract) and the wiring of its two halves, `insights.tabs.compute.overview`
(reads and arithmetic, frozen dataclasses) and `insights.tabs.present.overview` (payload,
charts, page context, CSV tables)."""

from __future__ import annotations

from rest_framework import serializers

from core.api import NumberField, inline_serializer
from core.display import PERCENT, POINTS
from insights.models import GoalMetric
from insights.tabs import DashboardQuery
from insights.tabs.compute.overview import COMPARISON_ROWS, TODAY_FIGURES, overview_tab
from insights.tabs.present.overview import charts, csv_tables, page_context, payload

TITLE = "Overview"

_figure = inline_serializer(
    "OverviewTodayFigure",
    {
        "today": NumberField(),
        "sameTimeYesterday": NumberField(),
        "trend": serializers.FloatField(allow_null=True),
    },
)
OPENAPI_RESPONSE = inline_serializer(
    "OverviewTab",
    {
        "range": serializers.DictField(),
        "data": serializers.DictField(
            help_text="as POST /api/analytics/overview: calls, leads, revenue, campaigns"
        ),
        "trends": serializers.DictField(child=serializers.FloatField(allow_null=True)),
        "comparisons": serializers.DictField(),
        "comparisonRows": serializers.ListField(
            child=inline_serializer(
                "OverviewComparisonRow",
                {
                    "metric": serializers.CharField(),
                    "field": serializers.CharField(),
                    "label": serializers.CharField(),
                    "format": serializers.CharField(),
                    "current": NumberField(allow_null=True),
                    "previous": NumberField(allow_null=True),
                    "change": serializers.FloatField(
                        allow_null=True, help_text="against the previous period, in changeUnit"
                    ),
                    "changeUnit": serializers.ChoiceField(
                        [PERCENT, POINTS], help_text="points for a rate (format percent), else percent"
                    ),
                },
            )
        ),
        "today": inline_serializer("OverviewToday", {name: _figure for name in TODAY_FIGURES}),
        "goals": inline_serializer(
            "OverviewGoals",
            {
                "month": serializers.CharField(),
                "elapsedPercent": serializers.FloatField(),
                "items": serializers.ListField(
                    child=inline_serializer(
                        "OverviewGoal",
                        {
                            "metric": serializers.ChoiceField(GoalMetric.values),
                            "label": serializers.CharField(),
                            "target": serializers.FloatField(allow_null=True),
                            "actual": NumberField(),
                            "completion": serializers.FloatField(allow_null=True),
                            "expectedByNow": serializers.FloatField(allow_null=True),
                            "onTrack": serializers.BooleanField(allow_null=True),
                            "achieved": serializers.BooleanField(),
                        },
                    )
                ),
            },
        ),
    },
)


def compute(query: DashboardQuery) -> dict:
    """The JSON-able payload (the API returns it as is)."""
    return payload(overview_tab(query))


__all__ = ["COMPARISON_ROWS", "OPENAPI_RESPONSE", "TITLE", "charts", "compute", "csv_tables", "page_context"]
