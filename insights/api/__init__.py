"""The manager analytics JSON API: thin adapters over insights.analytics.

The overview's body is validated by insights.analytics.parse_overview_request (shared with
the pages; its 400s name the field as `filters.region`, `timeRange.start`);
OverviewInputSerializer documents exactly what it accepts, and
tests/api/test_schema_conformance.py checks that the two agree. The answer goes out through
OverviewOutputSerializer (core.api.output).
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers

from core.api import ApiView, NumberField, error_responses, inline_serializer, output
from core.timeranges import NAMED_RANGES
from crm.permissions import IsManager
from insights import analytics

_rate = {"allow_null": True, "help_text": "percent 0-100, one decimal; null over nothing"}
# Null or "" for a filter, like leaving it out, means "all" (docs/api.md).
_filter = {
    "required": False,
    "allow_blank": True,
    "allow_null": True,
    "max_length": analytics.MAX_FILTER_LENGTH,
}


# --- input (documentation of insights.analytics.parse_overview_request) ---------------------


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": list(NAMED_RANGES)},
            {
                "type": "object",
                "properties": {
                    "start": {"type": "string", "format": "date"},
                    "end": {"type": "string", "format": "date"},
                },
                "required": ["start", "end"],
                "additionalProperties": False,
            },
        ],
        "nullable": True,
        "description": f'A range name (default "{analytics.DEFAULT_RANGE}") or local dates '
        '{"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}: end inclusive, start on or before it, years '
        f"{analytics.CUSTOM_YEARS[0]}-{analytics.CUSTOM_YEARS[1]}, at most {analytics.CUSTOM_MAX_DAYS} days.",
    }
)
class TimeRangeField(serializers.JSONField):
    pass


@extend_schema_field(
    {
        "oneOf": [{"type": "string"}, {"type": "integer"}],
        "nullable": True,
        "description": "Your organization's slug or id; another one is a 404.",
    }
)
class OrganizationRefField(serializers.JSONField):
    pass


class OverviewFiltersInputSerializer(serializers.Serializer):
    region = serializers.CharField(**_filter, help_text="a region used on your leads")
    productLine = serializers.CharField(**_filter, help_text="a product line used on your leads or sales")
    source = serializers.CharField(**_filter, help_text="a lead source used in your organization")
    agent = serializers.EmailField(**_filter, help_text="the e-mail of a member of your organization")
    organizationId = OrganizationRefField(required=False)


class OverviewInputSerializer(serializers.Serializer):
    timeRange = TimeRangeField(required=False)
    metrics = serializers.ListField(
        child=serializers.ChoiceField(choices=analytics.METRICS),
        required=False,
        min_length=1,
        allow_null=True,
        help_text="default: all four",
    )
    filters = OverviewFiltersInputSerializer(required=False, allow_null=True)


# --- output -------------------------------------------------------------------------------

CALLS = {
    "total": serializers.IntegerField(),
    "successful": serializers.IntegerField(),
    "successRate": serializers.FloatField(**_rate),
    "averageDuration": serializers.FloatField(allow_null=True, help_text="minutes, one decimal"),
    "totalMinutes": serializers.IntegerField(),
    "trend": serializers.FloatField(allow_null=True),
}
LEADS = {
    "total": serializers.IntegerField(),
    "qualified": serializers.IntegerField(),
    "conversionRate": serializers.FloatField(**_rate),
    "averageScore": serializers.FloatField(allow_null=True),
    "pipelineValue": serializers.FloatField(),
    "trend": serializers.FloatField(allow_null=True),
}
REVENUE = {
    "total": serializers.FloatField(),
    "deals": serializers.IntegerField(),
    "averageDealSize": serializers.FloatField(allow_null=True),
    "monthlyRecurring": serializers.FloatField(),
    "growthRate": serializers.FloatField(allow_null=True),
    "trend": serializers.FloatField(allow_null=True),
}
_FUNNEL = {
    "sent": serializers.IntegerField(),
    "delivered": serializers.IntegerField(),
    "read": serializers.IntegerField(),
    "replied": serializers.IntegerField(),
    "deliveredRate": serializers.FloatField(**_rate),
    "readRate": serializers.FloatField(**_rate),
    "replyRate": serializers.FloatField(**_rate),
}
CAMPAIGN = {
    "id": serializers.CharField(),
    "name": serializers.CharField(),
    **_FUNNEL,
    "spend": serializers.FloatField(),
    "attributedRevenue": serializers.FloatField(),
    "roi": serializers.FloatField(allow_null=True),
    "leads": serializers.IntegerField(),
    "costPerLead": serializers.FloatField(allow_null=True),
}
CAMPAIGNS = {
    "active": serializers.IntegerField(),
    **_FUNNEL,
    "responseRate": serializers.FloatField(**_rate),
    "totalSpend": serializers.FloatField(),
    "attributedRevenue": serializers.FloatField(),
    "roi": serializers.FloatField(allow_null=True),
    "costPerLead": serializers.FloatField(allow_null=True),
    "campaigns": inline_serializer("OverviewCampaign", CAMPAIGN, many=True),
    "trend": serializers.FloatField(allow_null=True),
}
OVERVIEW_OUTPUT = inline_serializer(
    "OverviewResponse",
    {
        "success": serializers.BooleanField(),
        "range": inline_serializer(
            "OverviewRange",
            {
                "label": serializers.CharField(),
                "start": serializers.DateTimeField(),
                "end": serializers.DateTimeField(),
                "previousStart": serializers.DateTimeField(),
                "timezone": serializers.CharField(),
                "currency": serializers.CharField(),
            },
        ),
        "data": inline_serializer(
            "OverviewData",
            {
                # each metric only when asked for
                "calls": inline_serializer("OverviewCalls", CALLS, required=False),
                "leads": inline_serializer("OverviewLeads", LEADS, required=False),
                "revenue": inline_serializer("OverviewRevenue", REVENUE, required=False),
                "campaigns": inline_serializer("OverviewCampaigns", CAMPAIGNS, required=False),
            },
        ),
        "trends": serializers.DictField(
            child=serializers.FloatField(allow_null=True),
            help_text="% change of each metric's headline number vs the previous period",
        ),
        "comparisons": serializers.DictField(
            child=serializers.DictField(child=serializers.DictField(child=NumberField(allow_null=True))),
            help_text="{metric: {current: {...}, previous: {...}}}: the metric's numbers in both periods",
        ),
    },
)
OverviewOutputSerializer = type(OVERVIEW_OUTPUT)


# --- view ---------------------------------------------------------------------------------


class OverviewView(ApiView):
    permission_classes = [IsManager]

    @extend_schema(
        summary="Manager overview: calls, leads, revenue, campaigns with trends and comparisons",
        request=OverviewInputSerializer,
        responses={
            200: OverviewOutputSerializer,
            **error_responses(
                400,
                401,
                403,
                404,
                415,
                descriptions={
                    400: "Bad input; error.details names the field (e.g. filters.region).",
                    403: "Not a manager or admin.",
                    404: "filters.organizationId is not your organization.",
                },
            ),
        },
        examples=[
            OpenApiExample(
                "30 days, two metrics",
                request_only=True,
                value={"timeRange": "30d", "metrics": ["calls", "revenue"], "filters": {"region": ""}},
            )
        ],
        tags=["manager analytics"],
    )
    def post(self, request):
        organization = request.user.organization
        parsed = analytics.parse_overview_request(
            organization=organization, body=request.data, as_of=timezone.now()
        )
        payload = analytics.overview_for(organization=organization, request=parsed)
        return output(OverviewOutputSerializer, {"success": True, **payload})
