"""The Leads tab (docs/metrics.md, "Leads tab"): its title, the schema of its payload (the
API's contract) and the wiring of its two halves, `insights.tabs.compute.leads` (reads and
arithmetic, frozen dataclasses) and `insights.tabs.present.leads` (payload, charts, page
context, CSV tables)."""

from __future__ import annotations

from rest_framework import serializers

from core.api import inline_serializer
from insights.metrics import leads as calc
from insights.tabs import DashboardQuery, TabRangeSerializer
from insights.tabs.compute.leads import leads_tab
from insights.tabs.present.leads import charts, csv_tables, page_context, payload

TITLE = "Leads"


_RATE = {"allow_null": True, "help_text": "percent 0-100, one decimal; null over nothing"}
_change = {"allow_null": True}
_days = {"allow_null": True, "help_text": "days, one decimal; null without a lead"}
_BLOCK = inline_serializer(
    "LeadsTabKpis",
    {
        "total": serializers.IntegerField(help_text="leads created in the window"),
        "qualified": serializers.IntegerField(help_text="of those, with interested_at set"),
        "conversionRate": serializers.FloatField(**_RATE),
        "averageScore": serializers.FloatField(allow_null=True, help_text="mean score over those with one"),
        "pipelineValue": serializers.FloatField(
            help_text="lead pipeline value: estimated value of the leads open at W's end (not the "
            "opportunity pipeline of /api/bi)"
        ),
    },
)
_SOURCE = {
    "source": serializers.CharField(help_text=f"the lead's source, '{calc.NONE_SOURCE}' when empty"),
    "leads": serializers.IntegerField(),
    "converted": serializers.IntegerField(),
    "conversionRate": serializers.FloatField(**_RATE),
    "revenue": serializers.FloatField(help_text="sales of these leads, closed at any time"),
    "sales": serializers.IntegerField(),
    "averageDaysToConvert": serializers.FloatField(**_days),
}
OPENAPI_RESPONSE = inline_serializer(
    "LeadsTab",
    {
        "range": TabRangeSerializer(),
        "kpis": inline_serializer(
            "LeadsTabKpiComparison",
            {
                "current": _BLOCK,
                "previous": _BLOCK,
                "changes": inline_serializer(
                    "LeadsTabChanges",
                    {
                        "total": serializers.FloatField(
                            **_change, help_text="% change; null when the previous is 0"
                        ),
                        "qualified": serializers.FloatField(**_change, help_text="% change"),
                        "conversionRate": serializers.FloatField(
                            **_change, help_text="change in percentage points"
                        ),
                        "averageScore": serializers.FloatField(**_change, help_text="% change of the mean"),
                        "pipelineValue": serializers.FloatField(**_change, help_text="% change"),
                    },
                ),
            },
        ),
        "funnel": inline_serializer(
            "LeadsTabFunnel",
            {
                "stages": inline_serializer(
                    "LeadsTabStage",
                    {
                        "stage": serializers.ChoiceField(calc.STAGES),
                        "label": serializers.CharField(),
                        "leads": serializers.IntegerField(
                            help_text="created in W, with the milestone set (whenever)"
                        ),
                        "rateFromPrevious": serializers.FloatField(**_RATE),
                        "rateFromCreated": serializers.FloatField(**_RATE),
                    },
                    many=True,
                ),
                "lost": serializers.IntegerField(help_text="leads created in W with lost_at set"),
            },
        ),
        "scores": inline_serializer(
            "LeadsTabScoreBucket",
            {
                "label": serializers.CharField(),
                "min": serializers.IntegerField(
                    allow_null=True, help_text="inclusive; null for the no-score bar"
                ),
                "max": serializers.IntegerField(allow_null=True, help_text="inclusive"),
                "leads": serializers.IntegerField(),
                "share": serializers.FloatField(**_RATE),
                "converted": serializers.IntegerField(),
                "conversionRate": serializers.FloatField(**_RATE),
            },
            many=True,
        ),
        "sources": inline_serializer("LeadsTabSource", _SOURCE, many=True),
        "sourceTotals": inline_serializer("LeadsTabSourceTotals", _SOURCE),
        "velocity": inline_serializer(
            "LeadsTabVelocity",
            {
                "key": serializers.ChoiceField([key for key, _a, _b in calc.VELOCITY_SPANS]),
                "from": serializers.CharField(),
                "to": serializers.CharField(),
                "label": serializers.CharField(),
                "leads": serializers.IntegerField(help_text="leads created in W that reached both stages"),
                "medianDays": serializers.FloatField(**_days),
            },
            many=True,
        ),
        "cohorts": inline_serializer(
            "LeadsTabCohorts",
            {
                "horizons": serializers.ListField(
                    child=serializers.IntegerField(), help_text="days after creation"
                ),
                "weeks": inline_serializer(
                    "LeadsTabCohortWeek",
                    {
                        "week": serializers.DateField(help_text="the local Monday starting the ISO week"),
                        "label": serializers.CharField(),
                        "leads": serializers.IntegerField(
                            help_text="leads created that week (Monday to Sunday, local)"
                        ),
                        "complete": serializers.BooleanField(help_text="the week is over"),
                        "cells": inline_serializer(
                            "LeadsTabCohortCell",
                            {
                                "days": serializers.IntegerField(),
                                "mature": serializers.BooleanField(
                                    help_text="the horizon passed for all the week's leads"
                                ),
                                "converted": serializers.IntegerField(
                                    allow_null=True, help_text="null when immature"
                                ),
                                "share": serializers.FloatField(
                                    allow_null=True,
                                    help_text="% of the week's leads; null when "
                                    "immature or the week has no lead",
                                ),
                            },
                            many=True,
                        ),
                    },
                    many=True,
                ),
            },
        ),
    },
)


def compute(query: DashboardQuery) -> dict:
    """The JSON-able payload (the API returns it as is)."""
    return payload(leads_tab(query), query)


__all__ = ["OPENAPI_RESPONSE", "TITLE", "charts", "compute", "csv_tables", "page_context"]
