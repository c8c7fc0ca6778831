"""The agents' JSON API (seed 003): thin adapters over agents.analytics.

Subject rules: an agent sees only their own data (asking for another agent is a 403
"Can only access own data"); managers and admins pass `?agent=<email>` for any agent of
their organization; an e-mail outside the caller's organization is a 404.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from agents import analytics
from agents.services import GoalConflict, GoalError, GoalMissing, goals_set
from crm.api_errors import Conflict
from crm.models import Member
from crm.permissions import IsAgent
from crm.tenancy import get_for_org_or_404
from crm.timeranges import RangeError, allowed_ranges_text

AGENT_PARAM = OpenApiParameter(
    "agent", OpenApiTypes.EMAIL, description="Managers and admins: the agent's e-mail (default: yourself)."
)
RANGE_PARAM = OpenApiParameter(
    "range", OpenApiTypes.STR, description=f"Time range: {allowed_ranges_text()}. Default 30d."
)
ERRORS = {
    400: OpenApiResponse(description="Bad parameter (the error names it)."),
    403: OpenApiResponse(description="Another agent's data, or not a member."),
    404: OpenApiResponse(description="No such agent in your organization."),
}


def subject_agent(request) -> Member:
    user = request.user
    email = request.query_params.get("agent")
    if not email or email.lower() == getattr(user, "email", None):
        if not isinstance(user, Member):
            raise PermissionDenied("Agent analytics need a member login.")
        return user
    if not user.is_manager:
        raise PermissionDenied("Can only access own data")
    return get_for_org_or_404(Member, user.organization, email=email.strip().lower())


def bad_parameter(field: str, exc: Exception) -> ValidationError:
    return ValidationError({field: [str(exc)]})


class AgentView(APIView):
    permission_classes = [IsAgent]

    def subject(self, request) -> Member:
        return subject_agent(request)


class WindowedView(AgentView):
    """GET of one windowed answer of agents.analytics (range + agent parameters)."""

    answer = staticmethod(analytics.kpis)

    def get(self, request):
        agent = self.subject(request)
        try:
            payload = self.answer(
                organization=agent.organization,
                agent=agent,
                range_value=request.query_params.get("range"),
                as_of=timezone.now(),
            )
        except RangeError as exc:
            raise bad_parameter("range", exc) from exc
        return Response(payload)


def windowed_schema(summary: str):
    return extend_schema_view(
        get=extend_schema(
            summary=summary,
            parameters=[RANGE_PARAM, AGENT_PARAM],
            responses={200: OpenApiTypes.OBJECT, **ERRORS},
            tags=["agent analytics"],
        )
    )


@windowed_schema("The agent's KPIs with trends and team position")
class KpisView(WindowedView):
    answer = staticmethod(analytics.kpis)


@windowed_schema("The agent's conversion funnel")
class FunnelView(WindowedView):
    answer = staticmethod(analytics.funnel)


@windowed_schema("The agent's lead sources: count, conversion rate, revenue")
class LeadSourcesView(WindowedView):
    answer = staticmethod(analytics.lead_sources)


class RevenueTrendsView(AgentView):
    @extend_schema(
        summary="The agent's revenue per day, ISO week or month (zero-filled) with insights",
        parameters=[
            OpenApiParameter("period", OpenApiTypes.STR, enum=["daily", "weekly", "monthly"]),
            OpenApiParameter("range", OpenApiTypes.STR, description="Default 30d / 90d / 1y by period."),
            AGENT_PARAM,
        ],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        tags=["agent analytics"],
    )
    def get(self, request):
        agent = self.subject(request)
        period = request.query_params.get("period", "daily")
        if period not in ("daily", "weekly", "monthly"):
            raise ValidationError({"period": ["Use daily, weekly or monthly."]})
        try:
            payload = analytics.revenue_trend(
                organization=agent.organization,
                agent=agent,
                period=period,
                range_value=request.query_params.get("range"),
                as_of=timezone.now(),
            )
        except RangeError as exc:
            raise bad_parameter("range", exc) from exc
        return Response(payload)


class ActivitiesView(AgentView):
    @extend_schema(
        summary="The agent's activity timeline, newest first, cursor-paginated (never cached)",
        parameters=[
            OpenApiParameter("filter", OpenApiTypes.STR, enum=list(analytics.selectors.TIMELINE_TYPES)),
            OpenApiParameter("cursor", OpenApiTypes.STR, description="nextCursor of the previous page"),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1-100, default 20"),
            AGENT_PARAM,
        ],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        tags=["agent analytics"],
    )
    def get(self, request):
        agent = self.subject(request)
        params = request.query_params
        filter_name = params.get("filter", "all")
        if filter_name not in analytics.selectors.TIMELINE_TYPES:
            raise ValidationError({"filter": ["Use all, calls, emails or conversions."]})
        limit_text = params.get("limit", str(analytics.TIMELINE_DEFAULT_LIMIT))
        if (
            not analytics.is_small_whole_number(limit_text)
            or not 1 <= int(limit_text) <= analytics.TIMELINE_MAX_LIMIT
        ):
            raise ValidationError(
                {"limit": [f"Use a whole number from 1 to {analytics.TIMELINE_MAX_LIMIT}."]}
            )
        try:
            payload = analytics.activities(
                organization=agent.organization,
                agent=agent,
                filter_name=filter_name,
                cursor=params.get("cursor") or None,
                limit=int(limit_text),
            )
        except analytics.CursorError as exc:
            raise bad_parameter("cursor", exc) from exc
        return Response(payload)


GOALS_REQUEST = inline_serializer(
    "AgentGoalsRequest",
    {
        "period": serializers.ChoiceField(choices=["monthly", "quarterly", "yearly"]),
        "goals": serializers.DictField(child=serializers.DecimalField(max_digits=14, decimal_places=2)),
    },
)


class GoalsView(AgentView):
    @extend_schema(
        summary="The agent's goals for the current periods with progress",
        parameters=[AGENT_PARAM],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        tags=["agent goals"],
    )
    def get(self, request):
        agent = self.subject(request)
        return Response(analytics.goals(organization=agent.organization, agent=agent, as_of=timezone.now()))

    @extend_schema(
        summary="Create goals for the current period (409 if one exists)",
        request=GOALS_REQUEST,
        parameters=[AGENT_PARAM],
        responses={201: OpenApiTypes.OBJECT, 409: OpenApiResponse(description="Goal exists"), **ERRORS},
        tags=["agent goals"],
    )
    def post(self, request):
        return self._write(request, create=True)

    @extend_schema(
        summary="Update goals of the current period (404 if missing)",
        request=GOALS_REQUEST,
        parameters=[AGENT_PARAM],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        tags=["agent goals"],
    )
    def put(self, request):
        return self._write(request, create=False)

    def _write(self, request, *, create: bool) -> Response:
        agent = self.subject(request)
        body = request.data
        if not isinstance(body, dict):
            raise ValidationError({"body": ["Send a JSON object with period and goals."]})
        period = body.get("period")
        if period not in ("monthly", "quarterly", "yearly"):
            raise ValidationError({"period": ["Use monthly, quarterly or yearly."]})
        now = timezone.now()
        try:
            goals_set(
                agent=agent,
                period=period,
                goals=body.get("goals"),
                actor=request.user,
                as_of=now,
                create=create,
            )
        except GoalError as exc:
            raise bad_parameter(exc.field, exc) from exc
        except GoalConflict as exc:
            raise Conflict(str(exc)) from exc
        except GoalMissing as exc:
            raise NotFound(str(exc)) from exc
        payload = analytics.goals(organization=agent.organization, agent=agent, as_of=now)
        return Response(payload, status=status.HTTP_201_CREATED if create else status.HTTP_200_OK)
