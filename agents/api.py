"""The agents' JSON API (seed 003): thin adapters over agents.analytics.

Each view binds its query (or body) to its Input serializer and answers through its Output
serializer (core.api, docs/api.md); agents.analytics computes the payloads.

Subject rules: an agent sees only their own data (asking for another agent is a 403
"Can only access own data"); managers and admins pass `?agent=<email>` for any agent of
their organization; an e-mail outside the caller's organization is a 404.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied

from agents import analytics
from agents.models import GoalPeriod, GoalType
from agents.services import GoalConflict, GoalMissing, goals_set
from core.api import ApiView, NumberField, error_responses, output, query_input
from core.errors import Conflict
from core.tenancy import get_for_org_or_404
from core.timeranges import allowed_ranges_text
from crm.models import Member
from crm.permissions import IsAgent

ERRORS = error_responses(
    400,
    401,
    403,
    404,
    descriptions={
        403: "Another agent's data (for an agent), or not a member.",
        404: "No such agent in your organization.",
    },
)
TREND_PERIODS = list(analytics.TREND_DEFAULT_RANGES)


# --- input --------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.EMAIL)
class AgentEmailField(serializers.CharField):
    """`?agent=`: names an object, so an e-mail of no member of your organization, however
    spelt, is a 404 like an unknown one (a 403 for an agent naming anyone else), never a 400."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            required=False,
            help_text="Managers and admins: the agent's e-mail (default: yourself).",
            **kwargs,
        )


class AgentInputSerializer(serializers.Serializer):
    agent = AgentEmailField()


class WindowInputSerializer(AgentInputSerializer):
    # Validated by core.timeranges.parse_range (400 on `range`).
    range = serializers.CharField(
        required=False, help_text=f"Time range: {allowed_ranges_text()}. Default 30d."
    )


class RevenueTrendInputSerializer(AgentInputSerializer):
    period = serializers.ChoiceField(choices=TREND_PERIODS, default="daily")
    range = serializers.CharField(
        required=False,
        help_text=f"Time range: {allowed_ranges_text()}. Default 30d (daily), 90d (weekly), 1y (monthly).",
    )


class ActivitiesInputSerializer(AgentInputSerializer):
    filter = serializers.ChoiceField(choices=list(analytics.selectors.TIMELINE_TYPES), default="all")
    # Decoded by agents.analytics (400 on `cursor` when it is not one of ours).
    cursor = serializers.CharField(required=False, help_text="nextCursor of the previous page")
    limit = serializers.IntegerField(
        min_value=1, max_value=analytics.TIMELINE_MAX_LIMIT, default=analytics.TIMELINE_DEFAULT_LIMIT
    )


@extend_schema_field(
    {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": {
            goal_type: {
                "description": "the target: a number from 0 (a numeric text is read too)",
                "oneOf": [
                    {"type": "number", "minimum": 0, "maximum": 1e12, "exclusiveMaximum": True},
                    {"type": "string"},
                ],
            }
            for goal_type in GoalType.values
        },
    }
)
class GoalTargetsField(serializers.JSONField):
    """{goal type: target}; agents.services validates the targets (400 on `goals.<type>`)."""


class GoalsInputSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=GoalPeriod.values)
    goals = GoalTargetsField()


# --- output -------------------------------------------------------------------------------

_rate = {"allow_null": True, "help_text": "percent 0-100, one decimal; null over nothing"}
_trend = {"allow_null": True, "help_text": "change vs the previous period in trendUnits; null without a base"}


class AgentKpiValuesSerializer(serializers.Serializer):
    leadsHandled = serializers.IntegerField()
    conversionRate = serializers.FloatField(**_rate)
    totalRevenue = serializers.FloatField(help_text="the organization's currency, two decimals")
    excludedSales = serializers.IntegerField(
        help_text="sales in another currency, counted here but not in totalRevenue"
    )
    responseTimeHours = serializers.FloatField(allow_null=True)
    satisfactionScore = serializers.FloatField(allow_null=True)
    satisfactionCount = serializers.IntegerField()
    leadsThisWeek = serializers.IntegerField()
    teamRanking = serializers.IntegerField(allow_null=True, help_text="1 is the best; null when not ranked")
    totalAgents = serializers.IntegerField()


class AgentKpiTrendsSerializer(serializers.Serializer):
    leads = serializers.FloatField(**_trend)
    conversion = serializers.FloatField(**_trend)
    revenue = serializers.FloatField(**_trend)
    response = serializers.FloatField(**_trend)
    satisfaction = serializers.FloatField(**_trend)
    ranking = serializers.IntegerField(allow_null=True, help_text="places moved up (+ is better)")


class AgentKpiTrendUnitsSerializer(serializers.Serializer):
    leads = serializers.CharField()
    conversion = serializers.CharField()
    revenue = serializers.CharField()
    response = serializers.CharField()
    satisfaction = serializers.CharField()
    ranking = serializers.CharField()


class AgentKpisOutputSerializer(serializers.Serializer):
    agentId = serializers.CharField()
    dateRange = serializers.CharField(help_text='the window in days ("30"), or hours ("24h")')
    kpis = AgentKpiValuesSerializer()
    trends = AgentKpiTrendsSerializer()
    trendUnits = AgentKpiTrendUnitsSerializer(help_text="percent, points or places")


class AgentFunnelCountsSerializer(serializers.Serializer):
    assigned = serializers.IntegerField()
    contacted = serializers.IntegerField()
    interested = serializers.IntegerField()
    converted = serializers.IntegerField()


class AgentFunnelRatesSerializer(serializers.Serializer):
    contactRate = serializers.FloatField(**_rate)
    interestRate = serializers.FloatField(**_rate)
    conversionRate = serializers.FloatField(**_rate)


class AgentFunnelOutputSerializer(serializers.Serializer):
    dateRange = serializers.CharField()
    funnel = AgentFunnelCountsSerializer()
    conversionRates = AgentFunnelRatesSerializer()


class AgentLeadSourceSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="Unknown: sales without a lead")
    count = serializers.IntegerField()
    conversionRate = serializers.FloatField(**_rate)
    revenue = serializers.FloatField()


class AgentLeadSourcesOutputSerializer(serializers.Serializer):
    dateRange = serializers.CharField()
    sources = AgentLeadSourceSerializer(many=True)


class AgentRevenuePointSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="the bucket's first local day")
    revenue = serializers.FloatField()


class AgentRevenueInsightsSerializer(serializers.Serializer):
    bestDay = AgentRevenuePointSerializer(allow_null=True)
    monthTotal = serializers.FloatField()
    monthChange = serializers.FloatField(allow_null=True)


class AgentRevenueTrendOutputSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=TREND_PERIODS)
    dateRange = serializers.CharField()
    currency = serializers.CharField()
    data = AgentRevenuePointSerializer(many=True)
    insights = AgentRevenueInsightsSerializer()


class AgentActivitySerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField(help_text="an activity type, or goal_achieved")
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    timestamp = serializers.DateTimeField()
    metadata = serializers.DictField()


class AgentActivitiesOutputSerializer(serializers.Serializer):
    activities = AgentActivitySerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)
    hasMore = serializers.BooleanField()


class AgentGoalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    # Text, not an enum: GoalsInputSerializer's enum is the one named "period" (the schema
    # generator names an enum after its field and warns when two components share one).
    period = serializers.CharField(help_text=", ".join(GoalPeriod.values))
    type = serializers.ChoiceField(choices=GoalType.values)
    target = serializers.FloatField()
    current = NumberField(
        allow_null=True, help_text="conversions: a count; revenue and hours: two decimals; null: nothing yet"
    )
    completion = serializers.FloatField(allow_null=True, help_text="percent of the target")
    achieved = serializers.BooleanField()
    achievedAt = serializers.DateTimeField(allow_null=True)
    periodStart = serializers.DateField()
    periodEnd = serializers.DateField()
    lowerIsBetter = serializers.BooleanField()


class AgentGoalsOutputSerializer(serializers.Serializer):
    goals = AgentGoalSerializer(many=True)


# --- views --------------------------------------------------------------------------------


def subject_agent(request, email: str | None) -> Member:
    user = request.user
    if not email or email.lower() == getattr(user, "email", None):
        if not isinstance(user, Member):
            raise PermissionDenied("Agent analytics need a member login.")
        return user
    if not user.is_manager:
        raise PermissionDenied("Can only access own data")
    return get_for_org_or_404(Member, user.organization, email=email.strip().lower())


class AgentView(ApiView):
    permission_classes = [IsAgent]


class WindowedView(AgentView):
    """GET of one windowed answer of agents.analytics (range + agent parameters)."""

    answer: Callable[..., dict]
    output_serializer: type[serializers.Serializer]

    def get(self, request):
        params = query_input(WindowInputSerializer, request)
        agent = subject_agent(request, params.get("agent"))
        payload = self.answer(
            organization=agent.organization,
            agent=agent,
            range_value=params.get("range"),
            as_of=timezone.now(),
        )
        return output(self.output_serializer, payload)


def windowed_schema(summary: str, output_serializer: type[serializers.Serializer]):
    return extend_schema_view(
        get=extend_schema(
            summary=summary,
            parameters=[WindowInputSerializer],
            responses={200: output_serializer, **ERRORS},
            tags=["agent analytics"],
        )
    )


@windowed_schema("The agent's KPIs with trends and team position", AgentKpisOutputSerializer)
class KpisView(WindowedView):
    answer = staticmethod(analytics.kpis)
    output_serializer = AgentKpisOutputSerializer


@windowed_schema("The agent's conversion funnel", AgentFunnelOutputSerializer)
class FunnelView(WindowedView):
    answer = staticmethod(analytics.funnel)
    output_serializer = AgentFunnelOutputSerializer


@windowed_schema(
    "The agent's lead sources: count, conversion rate, revenue", AgentLeadSourcesOutputSerializer
)
class LeadSourcesView(WindowedView):
    answer = staticmethod(analytics.lead_sources)
    output_serializer = AgentLeadSourcesOutputSerializer


class RevenueTrendsView(AgentView):
    @extend_schema(
        summary="The agent's revenue per day, ISO week or month (zero-filled) with insights",
        parameters=[RevenueTrendInputSerializer],
        responses={200: AgentRevenueTrendOutputSerializer, **ERRORS},
        tags=["agent analytics"],
    )
    def get(self, request):
        params = query_input(RevenueTrendInputSerializer, request)
        agent = subject_agent(request, params.get("agent"))
        payload = analytics.revenue_trend(
            organization=agent.organization,
            agent=agent,
            period=params["period"],
            range_value=params.get("range"),
            as_of=timezone.now(),
        )
        return output(AgentRevenueTrendOutputSerializer, payload)


class ActivitiesView(AgentView):
    @extend_schema(
        summary="The agent's activity timeline, newest first, cursor-paginated (never cached)",
        parameters=[ActivitiesInputSerializer],
        responses={200: AgentActivitiesOutputSerializer, **ERRORS},
        tags=["agent analytics"],
    )
    def get(self, request):
        params = query_input(ActivitiesInputSerializer, request)
        agent = subject_agent(request, params.get("agent"))
        payload = analytics.activities(
            organization=agent.organization,
            agent=agent,
            filter_name=params["filter"],
            cursor=params.get("cursor"),
            limit=params["limit"],
        )
        return output(AgentActivitiesOutputSerializer, payload)


WRITE_ERRORS = error_responses(
    400,
    401,
    403,
    404,
    415,
    descriptions={
        403: "Another agent's goals (for an agent), or not a member.",
        404: "No such agent in your organization, or (PUT) no goal of that type in this period.",
    },
)


class GoalsView(AgentView):
    @extend_schema(
        summary="The agent's goals for the current periods with progress",
        parameters=[AgentInputSerializer],
        responses={200: AgentGoalsOutputSerializer, **ERRORS},
        tags=["agent goals"],
    )
    def get(self, request):
        agent = subject_agent(request, query_input(AgentInputSerializer, request).get("agent"))
        payload = analytics.goals(organization=agent.organization, agent=agent, as_of=timezone.now())
        return output(AgentGoalsOutputSerializer, payload)

    @extend_schema(
        summary="Create goals for the current period (409 if one exists)",
        request=GoalsInputSerializer,
        parameters=[AgentInputSerializer],
        responses={
            201: AgentGoalsOutputSerializer,
            **WRITE_ERRORS,
            **error_responses(409, descriptions={409: "A goal of that type exists in this period; use PUT."}),
        },
        tags=["agent goals"],
    )
    def post(self, request):
        return self._write(request, create=True)

    @extend_schema(
        summary="Update goals of the current period (404 if missing)",
        request=GoalsInputSerializer,
        parameters=[AgentInputSerializer],
        responses={200: AgentGoalsOutputSerializer, **WRITE_ERRORS},
        tags=["agent goals"],
    )
    def put(self, request):
        return self._write(request, create=False)

    def _write(self, request, *, create: bool):
        agent = subject_agent(request, query_input(AgentInputSerializer, request).get("agent"))
        body = GoalsInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        now = timezone.now()
        try:
            goals_set(
                agent=agent,
                period=body.validated_data["period"],
                goals=body.validated_data["goals"],
                actor=request.user,
                as_of=now,
                create=create,
            )
        except GoalConflict as exc:
            raise Conflict(str(exc)) from exc
        except GoalMissing as exc:
            raise NotFound(str(exc)) from exc
        payload = analytics.goals(organization=agent.organization, agent=agent, as_of=now)
        return output(
            AgentGoalsOutputSerializer,
            payload,
            status_code=status.HTTP_201_CREATED if create else status.HTTP_200_OK,
        )
