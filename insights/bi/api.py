"""The business-intelligence JSON API under /api/bi/ (seed 000; docs/insights.md).

Thin adapters, one view per operation: bind the query or body, resolve the scope
(insights.bi.reads.scope_for: agents see their own leads' insights and opportunities only,
managers and admins the organization or one agent with ?agent=<e-mail>), call one read or
one action, answer camelCase JSON through the operation's Output serializer (core.api.output;
the payload functions below only pick the values). Errors have the one shape of core.errors.

The query parameters are parsed by insights.bi.reads (shared with the /insights page); the
OpenApiParameters below document what it accepts, and tests/api/test_schema_conformance.py
checks that the two agree.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from core.api import ApiView, NumberField, error_responses, inline_serializer, output, utc_text
from core.errors import Conflict
from core.timeranges import NAMED_RANGES
from crm.permissions import IsAgent
from insights.bi import actions, reads
from insights.bi.models import (
    BusinessInsight,
    InsightType,
    MetricName,
    MetricPeriod,
    Opportunity,
    OpportunityStatus,
    Priority,
)

TAGS = ["business intelligence"]

# --- payloads -----------------------------------------------------------------------------


def _number(value: object) -> float | None:
    return None if value is None else float(value)


def _member(member, scope: reads.Scope) -> dict | None:
    return {"id": member.pk, "name": member.display_name} if scope.shows_member(member) else None


def _lead(lead) -> dict | None:
    if lead is None:
        return None
    return {"id": lead.pk, "externalId": lead.external_id, "name": lead.name, "status": lead.status}


def _contact(contact) -> dict | None:
    return None if contact is None else {"id": contact.pk, "name": contact.name}


def insight_out(insight: BusinessInsight, scope: reads.Scope) -> dict:
    return {
        "id": insight.pk,
        "type": insight.type,
        "typeLabel": insight.get_type_display(),
        "priority": insight.priority,
        "title": insight.title,
        "explanation": insight.explanation,
        "actionItems": insight.action_items,
        "evidence": insight.evidence,
        "impact": _number(insight.impact),
        "lead": _lead(insight.lead),
        "contact": _contact(insight.contact),
        "agent": _member(insight.agent, scope),
        "createdAt": utc_text(insight.created_at),
        "updatedAt": utc_text(insight.updated_at),
        "conditionSince": utc_text(insight.condition_since),
        "resolved": insight.is_resolved,
        "resolvedAt": utc_text(insight.resolved_at),
        "resolvedBy": _member(insight.resolved_by, scope),
        "resolutionNote": insight.resolution_note,
    }


def opportunity_out(opportunity: Opportunity, scope: reads.Scope) -> dict:
    return {
        "id": opportunity.pk,
        "type": opportunity.type,
        "typeLabel": opportunity.get_type_display(),
        "status": opportunity.status,
        "statusLabel": opportunity.get_status_display(),
        "title": opportunity.title,
        "explanation": opportunity.explanation,
        "evidence": opportunity.evidence,
        "confidence": opportunity.confidence,
        "confidenceMethod": opportunity.confidence_method,
        "estimatedValue": _number(opportunity.estimated_value),
        "weightedValue": None
        if opportunity.weighted_value is None
        else round(float(opportunity.weighted_value), 2),
        "currency": opportunity.currency or scope.organization.currency,
        "lead": _lead(opportunity.lead),
        "contact": _contact(opportunity.contact),
        "owner": _member(opportunity.owner, scope),
        "createdAt": utc_text(opportunity.created_at),
        "statusChangedAt": utc_text(opportunity.status_changed_at),
        "closedAt": utc_text(opportunity.closed_at),
        "allowedStatuses": list(actions.allowed_statuses(opportunity.status)),
    }


# --- the answers' shapes (Output serializers) -----------------------------------------------


_ref = {"id": serializers.IntegerField(), "name": serializers.CharField()}
MEMBER = inline_serializer(
    "BiMember", _ref, allow_null=True, help_text="null: none, or a colleague of an agent"
)
LEAD = inline_serializer(
    "BiLead",
    {**_ref, "externalId": serializers.CharField(), "status": serializers.CharField()},
    allow_null=True,
)
CONTACT = inline_serializer("BiContact", _ref, allow_null=True)
_when = {"allow_null": True}
INSIGHT = inline_serializer(
    "BiInsight",
    {
        "id": serializers.IntegerField(),
        "type": serializers.ChoiceField(InsightType.values),
        "typeLabel": serializers.CharField(),
        "priority": serializers.ChoiceField(Priority.values),
        "title": serializers.CharField(),
        "explanation": serializers.CharField(),
        "actionItems": serializers.ListField(child=serializers.JSONField(), help_text="what to do, in order"),
        "evidence": serializers.DictField(help_text="the numbers that triggered the insight"),
        "impact": serializers.FloatField(allow_null=True, help_text="ranking value (e.g. expected value)"),
        "lead": LEAD,
        "contact": CONTACT,
        "agent": MEMBER,
        "createdAt": serializers.DateTimeField(),
        "updatedAt": serializers.DateTimeField(),
        "conditionSince": serializers.DateTimeField(),
        "resolved": serializers.BooleanField(),
        "resolvedAt": serializers.DateTimeField(**_when),
        "resolvedBy": MEMBER,
        "resolutionNote": serializers.CharField(),
    },
)
# Enum names like "status" and "period" already name other choice sets in the schema (lead
# statuses, revenue periods): answers document them as text, the request keeps the enum.
STATUS = serializers.CharField(help_text="identified, in_progress, converted or lost")
OPPORTUNITY_FIELDS = {
    "id": serializers.IntegerField(),
    "type": serializers.CharField(),
    "typeLabel": serializers.CharField(),
    "status": STATUS,
    "statusLabel": serializers.CharField(),
    "title": serializers.CharField(),
    "explanation": serializers.CharField(),
    "evidence": serializers.DictField(),
    "confidence": serializers.IntegerField(help_text="calibrated probability of converting, 0-100"),
    "confidenceMethod": serializers.CharField(help_text="model, or fallback with too little history"),
    "estimatedValue": serializers.FloatField(allow_null=True),
    "weightedValue": serializers.FloatField(allow_null=True, help_text="estimatedValue x confidence / 100"),
    "currency": serializers.CharField(),
    "lead": LEAD,
    "contact": CONTACT,
    "owner": MEMBER,
    "createdAt": serializers.DateTimeField(),
    "statusChangedAt": serializers.DateTimeField(),
    "closedAt": serializers.DateTimeField(**_when),
    "allowedStatuses": serializers.ListField(child=STATUS, help_text="where it may move next"),
}
_card = {
    "value": NumberField(allow_null=True),
    "previous": NumberField(allow_null=True),
    "change": serializers.FloatField(
        allow_null=True, help_text="vs the previous 30 days; null without a base"
    ),
    "changeUnit": serializers.ChoiceField(["percent", "points"]),
}
DASHBOARD = inline_serializer(
    "BiDashboard",
    {
        "range": inline_serializer(
            "BiRange",
            {
                "start": serializers.DateTimeField(),
                "end": serializers.DateTimeField(),
                "previousStart": serializers.DateTimeField(),
                "timezone": serializers.CharField(),
                "currency": serializers.CharField(),
            },
        ),
        "agent": MEMBER,
        "summary": inline_serializer(
            "BiSummary",
            {
                "conversionRate": inline_serializer("BiConversionCard", _card),
                "revenue": inline_serializer("BiRevenueCard", _card),
                "calls": inline_serializer("BiCallsCard", _card),
                "openInsights": inline_serializer(
                    "BiInsightsCard",
                    {**_card, "byPriority": serializers.DictField(child=serializers.IntegerField())},
                ),
                "openPipeline": inline_serializer(
                    "BiPipelineCard",
                    {**_card, "weightedValue": serializers.FloatField(), "count": serializers.IntegerField()},
                ),
            },
        ),
        "topInsights": INSIGHT.__class__(many=True),
        "pipeline": inline_serializer(
            "BiPipelineColumn",
            {
                "status": STATUS,
                "label": serializers.CharField(),
                "count": serializers.IntegerField(),
                "estimatedValue": serializers.FloatField(),
                "weightedValue": serializers.FloatField(),
            },
            many=True,
        ),
        "activityBreakdown": inline_serializer(
            "BiActivityType",
            {
                "type": serializers.CharField(),
                "label": serializers.CharField(),
                "count": serializers.IntegerField(),
                "previous": serializers.IntegerField(),
                "change": serializers.FloatField(allow_null=True),
            },
            many=True,
        ),
        "leadStatus": inline_serializer(
            "BiLeadStatus",
            {
                "status": serializers.CharField(),
                "label": serializers.CharField(),
                "count": serializers.IntegerField(),
                "share": serializers.FloatField(allow_null=True, help_text="% of the leads"),
            },
            many=True,
        ),
    },
)
INSIGHT_LIST = inline_serializer(
    "BiInsightList",
    {
        "results": INSIGHT.__class__(many=True),
        "nextCursor": serializers.CharField(allow_null=True, help_text="pass as ?cursor= for the next page"),
        "limit": serializers.IntegerField(),
    },
)
METRICS = inline_serializer(
    "BiMetrics",
    {
        "range": inline_serializer(
            "BiMetricsRange",
            {
                "label": serializers.CharField(),
                "start": serializers.DateTimeField(),
                "end": serializers.DateTimeField(),
                "timezone": serializers.CharField(),
            },
        ),
        "period": serializers.CharField(help_text="day, week or month"),
        "agent": MEMBER,
        "series": inline_serializer(
            "BiMetricSeries",
            {
                "metric": serializers.ChoiceField(MetricName.values),
                "label": serializers.CharField(),
                "points": inline_serializer(
                    "BiMetricPoint",
                    {
                        "periodStart": serializers.DateField(
                            help_text="the local day, the Monday of the week, the 1st"
                        ),
                        "value": serializers.FloatField(
                            allow_null=True, help_text="rounded as the dashboards show it"
                        ),
                        "complete": serializers.BooleanField(
                            help_text="false: the period had not ended when computed"
                        ),
                        "numerator": serializers.FloatField(allow_null=True),
                        "denominator": serializers.FloatField(allow_null=True),
                    },
                    many=True,
                ),
            },
            many=True,
        ),
    },
)
OPPORTUNITY_UPDATED = inline_serializer(
    "BiOpportunityUpdated",
    {
        **OPPORTUNITY_FIELDS,
        "history": inline_serializer(
            "BiStatusChange",
            {
                "fromStatus": serializers.CharField(),
                "toStatus": STATUS,
                "actor": MEMBER,
                "note": serializers.CharField(),
                "changedAt": serializers.DateTimeField(),
            },
            many=True,
        ),
    },
)

AGENT_PARAM = OpenApiParameter(
    "agent",
    OpenApiTypes.EMAIL,
    description="Managers and admins: one member's part (their leads' insights, their opportunities, their "
    "activities); default the whole organization. Agents: only their own e-mail (default).",
)
ERRORS = error_responses(
    400,
    401,
    403,
    404,
    descriptions={
        400: "Bad parameter; error.details names it.",
        403: "Not a member, or an agent naming someone else.",
        404: "No such object (or member) in what you can see.",
    },
)
WRITE_ERRORS = {**ERRORS, **error_responses(415)}
LIST_PARAMS = [
    OpenApiParameter("priority", str, enum=Priority.values),
    OpenApiParameter("resolved", str, enum=["true", "false"], description="default: both"),
    OpenApiParameter("lead", int, description="a lead id (digits): that lead's insights"),
    OpenApiParameter("start", OpenApiTypes.DATE, description="created on or after this local day"),
    OpenApiParameter("end", OpenApiTypes.DATE, description="created on or before this local day"),
    OpenApiParameter("cursor", str, description="nextCursor of the previous page"),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": reads.MAX_LIMIT},
        description=f"default {reads.DEFAULT_LIMIT}",
    ),
    AGENT_PARAM,
]

# --- views --------------------------------------------------------------------------------


class BiView(ApiView):
    permission_classes = [IsAgent]

    def scope(self, request) -> reads.Scope:
        return reads.scope_for(member=request.user, agent_email=request.query_params.get("agent"))


class DashboardView(BiView):
    @extend_schema(
        summary="Summary cards with trends (30 days vs the previous 30), top insights, the opportunity "
        "pipeline by status, activities by type, leads by status",
        parameters=[AGENT_PARAM],
        responses={200: DASHBOARD, **ERRORS},
        tags=TAGS,
    )
    def get(self, request):
        scope = self.scope(request)
        data = reads.dashboard(scope=scope, as_of=timezone.now())
        window = data.pop("window")
        return output(
            type(DASHBOARD),
            {
                "range": {
                    "start": utc_text(window.start),
                    "end": utc_text(window.end),
                    "previousStart": utc_text(window.previous().start),
                    "timezone": scope.organization.timezone,
                    "currency": scope.organization.currency,
                },
                "agent": _member(scope.agent, scope),
                **data,
                "topInsights": [insight_out(i, scope) for i in reads.top_insights(scope)],
            },
        )


class InsightListView(BiView):
    fixed_type = ""
    ordering = "newest"

    def get(self, request):
        scope = self.scope(request)
        params = request.query_params
        filters = reads.parse_insight_filters(params, fixed_type=self.fixed_type)
        limit = reads.parse_limit(params.get("limit"))
        page = reads.insights_page(
            scope=scope,
            filters=filters,
            limit=limit,
            cursor=params.get("cursor") or None,
            ordering=self.ordering,
        )
        return output(
            type(INSIGHT_LIST),
            {
                "results": [insight_out(i, scope) for i in page.items],
                "nextCursor": page.next_cursor,
                "limit": limit,
            },
        )


class InsightsView(InsightListView):
    @extend_schema(
        summary="Business insights, newest first (cursor pagination)",
        parameters=[OpenApiParameter("type", str, enum=InsightType.values), *LIST_PARAMS],
        responses={200: INSIGHT_LIST, **ERRORS},
        tags=TAGS,
    )
    def get(self, request):
        return super().get(request)


class MissedOpportunitiesView(InsightListView):
    fixed_type, ordering = InsightType.MISSED_OPPORTUNITY, "impact"

    @extend_schema(
        summary="Missed opportunities: good leads left without activity, largest expected value first",
        parameters=LIST_PARAMS,
        responses={200: INSIGHT_LIST, **ERRORS},
        tags=TAGS,
    )
    def get(self, request):
        return super().get(request)


class UpsellPotentialView(InsightListView):
    fixed_type, ordering = InsightType.UPSELL_POTENTIAL, "impact"

    @extend_schema(
        summary="Upsell potential: the most engaged customers without a recent upsell, largest impact first",
        parameters=LIST_PARAMS,
        responses={200: INSIGHT_LIST, **ERRORS},
        tags=TAGS,
    )
    def get(self, request):
        return super().get(request)


class MetricsView(BiView):
    @extend_schema(
        summary="Performance metric series per day, ISO week or month (organization-wide, or one agent's)",
        parameters=[
            OpenApiParameter("metric", str, enum=MetricName.values, description="default: all"),
            OpenApiParameter("period", str, enum=MetricPeriod.values, description="default day"),
            OpenApiParameter("range", str, enum=list(NAMED_RANGES), description="default 30d"),
            OpenApiParameter("start", OpenApiTypes.DATE, description="first local day (with end, not range)"),
            OpenApiParameter(
                "end",
                OpenApiTypes.DATE,
                description=f"last local day, inclusive; at most {reads.METRICS_MAX_DAYS} days",
            ),
            AGENT_PARAM,
        ],
        responses={200: METRICS, **ERRORS},
        tags=TAGS,
    )
    def get(self, request):
        scope = self.scope(request)
        tz = scope.organization.tz
        query = reads.parse_metric_query(request.query_params, tz=tz, as_of=timezone.now())
        series = {m: [] for m in query.metrics}
        for row in reads.metric_rows(scope=scope, query=query):
            series[row["metric"]].append(
                {
                    "periodStart": row["period_start"].isoformat(),
                    "value": row["value"],
                    "numerator": row["numerator"],
                    "denominator": row["denominator"],
                    "complete": row["complete"],
                }
            )
        return output(
            type(METRICS),
            {
                "range": {
                    "label": query.window.label,
                    "start": utc_text(query.window.start),
                    "end": utc_text(query.window.end),
                    "timezone": scope.organization.timezone,
                },
                "period": query.period,
                "agent": _member(scope.agent, scope),
                "series": [
                    {"metric": m, "label": MetricName(m).label, "points": p} for m, p in series.items()
                ],
            },
        )


class InsightResolveView(BiView):
    class ResolveInputSerializer(serializers.Serializer):
        note = serializers.CharField(required=False, allow_blank=True, max_length=actions.NOTE_MAX_LENGTH)

    @extend_schema(
        summary="Mark an insight resolved, with an optional note (audited); a second time is a 409",
        request=ResolveInputSerializer,
        parameters=[OpenApiParameter("insight_id", int, OpenApiParameter.PATH)],
        responses={
            200: INSIGHT,
            **WRITE_ERRORS,
            **error_responses(
                409, descriptions={409: "Already resolved (error.message says by whom and when)."}
            ),
        },
        tags=TAGS,
    )
    def post(self, request, insight_id: int):
        body = self.ResolveInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        scope = reads.scope_for(member=request.user, agent_email=None)
        insight = reads.insight_get(scope=scope, insight_id=insight_id)
        try:
            actions.insight_resolve(
                insight=insight, actor=request.user, note=body.validated_data.get("note", "")
            )
        except actions.AlreadyResolved as exc:
            raise Conflict(str(exc), code="already_resolved") from exc
        return output(
            type(INSIGHT), insight_out(reads.insight_get(scope=scope, insight_id=insight_id), scope)
        )


class OpportunityStatusView(BiView):
    class StatusInputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=OpportunityStatus.values)
        note = serializers.CharField(required=False, allow_blank=True, max_length=actions.NOTE_MAX_LENGTH)

    @extend_schema(
        summary="Move an opportunity: identified -> in_progress -> converted | lost (anything else is a 400)",
        request=StatusInputSerializer,
        parameters=[OpenApiParameter("opportunity_id", int, OpenApiParameter.PATH)],
        responses={200: OPPORTUNITY_UPDATED, **WRITE_ERRORS},
        tags=TAGS,
    )
    def post(self, request, opportunity_id: int):
        body = self.StatusInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        scope = reads.scope_for(member=request.user, agent_email=None)
        opportunity = reads.opportunity_get(scope=scope, opportunity_id=opportunity_id)
        data = body.validated_data
        actions.opportunity_status_update(
            opportunity=opportunity, actor=request.user, status=data["status"], note=data.get("note", "")
        )
        opportunity = reads.opportunity_get(scope=scope, opportunity_id=opportunity_id)
        history = [
            {
                "fromStatus": c.from_status,
                "toStatus": c.to_status,
                "actor": _member(c.actor, scope),
                "note": c.note,
                "changedAt": utc_text(c.changed_at),
            }
            for c in reads.opportunity_history(opportunity)
        ]
        return output(type(OPPORTUNITY_UPDATED), {**opportunity_out(opportunity, scope), "history": history})
