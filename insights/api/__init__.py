"""The manager analytics JSON API: thin adapters over insights.analytics."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.permissions import IsManager
from insights import analytics

_rate = {"allow_null": True, "help_text": "percent 0-100, one decimal; null over nothing"}


class OverviewFiltersSerializer(serializers.Serializer):
    region = serializers.CharField(required=False, allow_blank=True)
    productLine = serializers.CharField(required=False, allow_blank=True)  # noqa: N815
    source = serializers.CharField(required=False, allow_blank=True)
    agent = serializers.EmailField(required=False, allow_blank=True, help_text="an agent's e-mail")
    organizationId = serializers.CharField(  # noqa: N815
        required=False, help_text="your organization's slug or id; another one is a 404"
    )


class OverviewRequestSerializer(serializers.Serializer):
    """Documentation only: the body is validated by insights.analytics (400s name the field)."""

    timeRange = serializers.JSONField(  # noqa: N815
        required=False,
        help_text='"24h", "7d", "30d" (default), "90d", "1y" or {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"} '
        "(local dates, end inclusive, at most 366 days)",
    )
    metrics = serializers.ListField(
        child=serializers.ChoiceField(choices=analytics.METRICS),
        required=False,
        help_text="default: all four",
    )
    filters = OverviewFiltersSerializer(required=False)


CALLS = {
    "total": serializers.IntegerField(), "successful": serializers.IntegerField(),
    "successRate": serializers.FloatField(**_rate), "averageDuration": serializers.FloatField(allow_null=True),
    "totalMinutes": serializers.IntegerField(), "trend": serializers.FloatField(allow_null=True),
}  # fmt: skip
LEADS = {
    "total": serializers.IntegerField(), "qualified": serializers.IntegerField(),
    "conversionRate": serializers.FloatField(**_rate), "averageScore": serializers.FloatField(allow_null=True),
    "pipelineValue": serializers.FloatField(), "trend": serializers.FloatField(allow_null=True),
}  # fmt: skip
REVENUE = {
    "total": serializers.FloatField(), "deals": serializers.IntegerField(),
    "averageDealSize": serializers.FloatField(allow_null=True), "monthlyRecurring": serializers.FloatField(),
    "growthRate": serializers.FloatField(allow_null=True), "trend": serializers.FloatField(allow_null=True),
}  # fmt: skip
_FUNNEL = {
    "sent": serializers.IntegerField(), "delivered": serializers.IntegerField(),
    "read": serializers.IntegerField(), "replied": serializers.IntegerField(),
    "deliveredRate": serializers.FloatField(**_rate), "readRate": serializers.FloatField(**_rate),
    "replyRate": serializers.FloatField(**_rate), "attributedRevenue": serializers.FloatField(),
    "roi": serializers.FloatField(allow_null=True), "costPerLead": serializers.FloatField(allow_null=True),
}  # fmt: skip
CAMPAIGN = {
    "id": serializers.CharField(), "name": serializers.CharField(), **_FUNNEL,
    "spend": serializers.FloatField(), "leads": serializers.IntegerField(),
}  # fmt: skip
CAMPAIGNS = {
    "active": serializers.IntegerField(), **_FUNNEL, "responseRate": serializers.FloatField(**_rate),
    "totalSpend": serializers.FloatField(), "campaigns": inline_serializer("OverviewCampaign", CAMPAIGN, many=True),
    "trend": serializers.FloatField(allow_null=True),
}  # fmt: skip
OVERVIEW_RESPONSE = inline_serializer("OverviewResponse", {
    "success": serializers.BooleanField(),
    "range": inline_serializer("OverviewRange", {
        "label": serializers.CharField(), "start": serializers.DateTimeField(), "end": serializers.DateTimeField(),
        "previousStart": serializers.DateTimeField(), "timezone": serializers.CharField(),
        "currency": serializers.CharField(),
    }),
    "data": inline_serializer("OverviewData", {
        "calls": inline_serializer("OverviewCalls", CALLS, required=False),
        "leads": inline_serializer("OverviewLeads", LEADS, required=False),
        "revenue": inline_serializer("OverviewRevenue", REVENUE, required=False),
        "campaigns": inline_serializer("OverviewCampaigns", CAMPAIGNS, required=False),
    }),
    "trends": serializers.DictField(child=serializers.FloatField(allow_null=True),
                                    help_text="% change of each metric's headline number vs the previous period"),
    "comparisons": serializers.DictField(child=serializers.DictField(),
                                         help_text="{metric: {current: {...}, previous: {...}}}"),
})  # fmt: skip


class OverviewView(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        summary="Manager overview: calls, leads, revenue, campaigns with trends and comparisons",
        request=OverviewRequestSerializer,
        responses={
            200: OVERVIEW_RESPONSE,
            400: OpenApiResponse(
                description="Bad input; error.details names the field (e.g. filters.region)."
            ),
            401: OpenApiResponse(description="Not logged in."),
            403: OpenApiResponse(description="Not a manager or admin."),
            404: OpenApiResponse(description="filters.organizationId is not your organization."),
        },
        examples=[
            OpenApiExample(
                "30 days, one region",
                request_only=True,
                value={"timeRange": "30d", "metrics": ["calls", "revenue"], "filters": {"region": "Nairobi"}},
            )
        ],  # fmt: skip
        tags=["manager analytics"],
    )
    def post(self, request):
        organization = request.user.organization
        try:
            parsed = analytics.parse_overview_request(organization=organization, body=request.data,
                                                      as_of=timezone.now())  # fmt: skip
        except analytics.OverviewInputError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
        except analytics.OrganizationMismatch as exc:
            raise NotFound(str(exc)) from exc
        return Response(
            {"success": True, **analytics.overview_for(organization=organization, request=parsed)}
        )
