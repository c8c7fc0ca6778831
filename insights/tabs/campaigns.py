"""The Campaigns tab (docs/metrics.md, "Campaigns tab"): its title and own parameter, the
schema of its payload (the API's contract) and the wiring of its two halves,
`insights.tabs.compute.campaigns` (reads and arithmetic, frozen dataclasses) and
`insights.tabs.present.campaigns` (payload, charts, page context, CSV tables).

Campaign figures are organization-wide: a message has no region, product line, source or
agent, so the dashboard filters do not apply (the tab says so) and its links drop them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from core.api import inline_serializer
from insights.metrics import campaigns as campaign_metrics
from insights.selectors import campaigns as reads
from insights.tabs import DashboardQuery, TabInputError, TabRangeSerializer
from insights.tabs.compute.campaigns import COMPARE_MAX, COMPARE_MIN, campaigns_tab
from insights.tabs.present.campaigns import ROW_HEADER, charts, csv_tables, page_context, payload

TITLE = "Campaigns"
# external_id is at most 100 characters; six of them and their commas.
COMPARE_MAX_LENGTH = COMPARE_MAX * 101
EXTRA_PARAMS = {
    "compare": f"{COMPARE_MIN} to {COMPARE_MAX} campaign external ids, comma-separated (or the parameter "
    "repeated); default: the two campaigns with most messages sent in the period",
}

# --- the payload's schema -----------------------------------------------------------------

_rate = {"allow_null": True, "help_text": "percent 0-100, one decimal; null over nothing"}
_COUNTS = {
    "sent": serializers.IntegerField(),
    "delivered": serializers.IntegerField(),
    "read": serializers.IntegerField(),
    "replied": serializers.IntegerField(),
}
_FUNNEL = {
    **_COUNTS,
    "deliveredRate": serializers.FloatField(**_rate),
    "readRate": serializers.FloatField(**_rate),
    "replyRate": serializers.FloatField(**_rate),
}
_MONEY = {"help_text": "organization currency, two decimals"}
_ROW = {
    "id": serializers.CharField(help_text="the campaign's external id"),
    "name": serializers.CharField(),
    **_FUNNEL,
    "spend": serializers.FloatField(**_MONEY),
    "attributedRevenue": serializers.FloatField(help_text="last touch, sales closed in the period"),
    "roi": serializers.FloatField(allow_null=True, help_text="percent; null without spend"),
    "leads": serializers.IntegerField(help_text="leads with a touchpoint of the campaign, any time"),
    "costPerLead": serializers.FloatField(allow_null=True),
}
_TEST = inline_serializer(
    "CampaignsTabVariantTest",
    {
        "vs": serializers.CharField(help_text="the best variant"),
        "z": serializers.FloatField(allow_null=True, help_text="two decimals; positive: the best is higher"),
        "pValue": serializers.FloatField(allow_null=True, help_text="two-sided, four decimals"),
        "significant": serializers.BooleanField(help_text="p < 0.05"),
        "verdict": serializers.ChoiceField(
            [campaign_metrics.SIGNIFICANT, campaign_metrics.NOT_YET_SIGNIFICANT]
        ),
    },
    allow_null=True,
)
_TIME = {**_COUNTS, "readRate": serializers.FloatField(**_rate), "replyRate": serializers.FloatField(**_rate)}
OPENAPI_RESPONSE = inline_serializer(
    "CampaignsTab",
    {
        "range": TabRangeSerializer(),
        "filtersApplied": serializers.BooleanField(
            help_text="always false: campaign figures are organization-wide"
        ),
        "totals": inline_serializer(
            "CampaignsTabTotals",
            {
                "active": serializers.IntegerField(),
                **_FUNNEL,
                "responseRate": serializers.FloatField(**_rate),
                "totalSpend": serializers.FloatField(**_MONEY),
                "attributedRevenue": serializers.FloatField(**_MONEY),
                "roi": serializers.FloatField(allow_null=True),
                "costPerLead": serializers.FloatField(allow_null=True),
                "trend": serializers.FloatField(
                    allow_null=True, help_text="% change of sent vs the previous period"
                ),
            },
        ),
        "campaigns": inline_serializer("CampaignsTabRow", _ROW, many=True),
        "comparison": inline_serializer(
            "CampaignsTabComparison",
            {
                "selected": serializers.ListField(child=serializers.CharField()),
                "isDefault": serializers.BooleanField(
                    help_text="true: the two campaigns with most messages sent"
                ),
                "campaigns": inline_serializer("CampaignsTabCompared", _ROW, many=True),
            },
        ),
        "variants": inline_serializer(
            "CampaignsTabAbTest",
            {
                "id": serializers.CharField(),
                "name": serializers.CharField(),
                "readBestVariant": serializers.CharField(allow_null=True),
                "replyBestVariant": serializers.CharField(allow_null=True),
                "readVerdict": serializers.CharField(),
                "replyVerdict": serializers.CharField(),
                "variants": inline_serializer(
                    "CampaignsTabVariant",
                    {
                        "variant": serializers.CharField(),
                        **_TIME,
                        "readBest": serializers.BooleanField(),
                        "replyBest": serializers.BooleanField(),
                        "readTest": _TEST,
                        "replyTest": _TEST,
                    },
                    many=True,
                ),
            },
            many=True,
        ),
        "sendTimes": inline_serializer(
            "CampaignsTabSendTimes",
            {
                "minDelivered": serializers.IntegerField(),
                "cells": inline_serializer(
                    "CampaignsTabSendCell",
                    {
                        "weekday": serializers.IntegerField(help_text="ISO, Monday = 1"),
                        "hour": serializers.IntegerField(),
                        **_TIME,
                    },
                    many=True,
                ),
                "byHour": inline_serializer(
                    "CampaignsTabSendHour", {"hour": serializers.IntegerField(), **_TIME}, many=True
                ),
                "bestHour": inline_serializer(
                    "CampaignsTabBestHour",
                    {
                        "hour": serializers.IntegerField(),
                        "delivered": serializers.IntegerField(),
                        "replied": serializers.IntegerField(),
                        "readRate": serializers.FloatField(allow_null=True),
                        "replyRate": serializers.FloatField(allow_null=True),
                    },
                    allow_null=True,
                ),
                "bestHourNote": serializers.CharField(allow_null=True, help_text="why there is no best hour"),
            },
        ),
    },
)


# --- own parameters -----------------------------------------------------------------------


def _compare_values(params: Mapping[str, Any]) -> list[str]:
    values = params.getlist("compare") if hasattr(params, "getlist") else params.get("compare")
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise TabInputError("compare", "Give campaign ids separated by commas.")
    return list(values)


def parse_extra(params: Mapping[str, Any], *, organization: Any) -> dict:
    """`compare`: 2..6 distinct external ids of the organization's campaigns (TabInputError)."""
    text = ",".join(_compare_values(params))
    if not text.strip():
        return {}
    if len(text) > COMPARE_MAX_LENGTH:
        raise TabInputError("compare", "The value is too long.")
    ids = [part.strip() for part in text.split(",")]
    if not all(ids):
        raise TabInputError("compare", "An id is empty: separate campaign ids with single commas.")
    if not COMPARE_MIN <= len(ids) <= COMPARE_MAX:
        raise TabInputError("compare", f"Choose {COMPARE_MIN} to {COMPARE_MAX} campaigns to compare.")
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise TabInputError("compare", f"Campaign {repeated[0]!r} is listed twice.")
    known = reads.existing_external_ids(organization=organization, external_ids=ids)
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise TabInputError("compare", f"No campaign with id {unknown[0]!r} in your organization.")
    return {"compare": ",".join(ids)}


def compute(query: DashboardQuery) -> dict:
    """The JSON-able payload (the API returns it as is)."""
    return payload(campaigns_tab(query), query)


__all__ = [
    "EXTRA_PARAMS",
    "OPENAPI_RESPONSE",
    "ROW_HEADER",
    "TITLE",
    "charts",
    "compute",
    "csv_tables",
    "page_context",
    "parse_extra",
]
