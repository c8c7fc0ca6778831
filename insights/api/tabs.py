"""GET /api/analytics/<tab>: each dashboard tab's payload, exactly what the tab shows.

One view class per tab (so each has its own OpenAPI operation and response schema), all
thin: parse the common query (insights.tabs), call the cached tab payload, answer it.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.permissions import IsManager
from insights import tabs

COMMON_PARAMETERS = [
    OpenApiParameter("range", str, enum=list(tabs.RANGE_CHOICES), description="default 30d"),
    OpenApiParameter("start", OpenApiTypes.DATE, description="first local day of a custom range"),
    OpenApiParameter("end", OpenApiTypes.DATE, description="last local day of a custom range (inclusive)"),
    OpenApiParameter("region", str, description="a region used on your leads"),
    OpenApiParameter("productLine", str, description="a product line used on your leads or sales"),
    OpenApiParameter("source", str, description="a lead source used in your organization"),
    OpenApiParameter("agent", str, description="an agent's e-mail"),
]
ERRORS = {
    400: OpenApiResponse(description="Bad input; error.details names the parameter."),
    401: OpenApiResponse(description="Not logged in."),
    403: OpenApiResponse(description="Not a manager or admin."),
}


class TabView(APIView):
    permission_classes = [IsManager]
    tab = ""

    def get(self, request):
        try:
            query = tabs.parse_tab_query(tab=self.tab, organization=request.user.organization,
                                         params=request.query_params, as_of=timezone.now())  # fmt: skip
        except tabs.analytics.OverviewInputError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
        return Response({"success": True, **tabs.tab_payload(self.tab, query)})


def tab_view(name: str) -> type[TabView]:
    module = tabs.get_tab(name)
    extra = [OpenApiParameter(p, str, description=d) for p, d in getattr(module, "EXTRA_PARAMS", {}).items()]

    def get(self, request):  # noqa: ANN001, ANN202 - a function of its own to carry this tab's schema
        return TabView.get(self, request)

    schema = extend_schema(
        summary=f"Dashboard tab: {module.TITLE}",
        parameters=[*COMMON_PARAMETERS, *extra],
        responses={200: module.OPENAPI_RESPONSE, **ERRORS},
        tags=["manager analytics"],
        operation_id=f"analytics_{name}",
    )
    return type(f"{name.title()}TabView", (TabView,), {"tab": name, "get": schema(get)})
