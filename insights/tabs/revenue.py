"""The Revenue tab (docs/metrics.md, "Revenue tab"): its title and own parameter, the schema
of its payload (the API's contract) and the wiring of its two halves,
`insights.tabs.compute.revenue` (reads and arithmetic, frozen dataclasses) and
`insights.tabs.present.revenue` (payload, charts, page context, CSV tables)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from core.api import inline_serializer
from crm.models import SaleKind
from insights.metrics import revenue as calc
from insights.tabs import DashboardQuery, TabInputError, TabRangeSerializer
from insights.tabs.compute.revenue import revenue_tab
from insights.tabs.present.revenue import charts, csv_tables, mrr_href, page_context, payload

TITLE = "Revenue"
EXTRA_PARAMS = {
    "period": "day, week or month: the buckets of the revenue line (default: day for windows of up to "
    "90 days, week for longer ones)",
}

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


def compute(query: DashboardQuery) -> dict:
    """The JSON-able payload (the API returns it as is)."""
    return payload(revenue_tab(query), query)


__all__ = [
    "EXTRA_PARAMS",
    "OPENAPI_RESPONSE",
    "TITLE",
    "charts",
    "compute",
    "csv_tables",
    "mrr_href",
    "page_context",
    "parse_extra",
]
