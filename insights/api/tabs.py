"""GET /api/analytics/<tab>: each dashboard tab's payload, exactly what the tab shows.

One view class per tab (so each has its own OpenAPI operation and response schema), all
thin: parse the common query (insights.tabs, shared with the pages), call the cached tab
payload, answer it through the tab's Output serializer (its OPENAPI_RESPONSE plus `success`).
The parameters below document what insights.tabs.parse_dashboard_query and the tab's
parse_extra accept; tests/api/test_schema_conformance.py checks that the two agree.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from core.api import ApiView, error_responses, output
from crm.permissions import IsManager
from insights import tabs

COMMON_PARAMETERS = [
    OpenApiParameter("range", str, enum=list(tabs.RANGE_CHOICES), description="default 30d"),
    # Read only with range=custom (and then both are required), so any other range ignores them.
    OpenApiParameter(
        "start", str, description="range=custom: the first local day, YYYY-MM-DD (ignored otherwise)"
    ),
    OpenApiParameter(
        "end", str, description="range=custom: the last local day (inclusive), YYYY-MM-DD (ignored otherwise)"
    ),
    OpenApiParameter("region", str, description="a region used on your leads"),
    OpenApiParameter("productLine", str, description="a product line used on your leads or sales"),
    OpenApiParameter("source", str, description="a lead source used in your organization"),
    OpenApiParameter("agent", OpenApiTypes.EMAIL, description="the e-mail of a member of your organization"),
]
# Parameters a tab reads as lists (insights.tabs.campaigns takes every value of `compare`).
REPEATABLE_PARAMETERS = {"campaigns": ("compare",)}
ERRORS = error_responses(
    400,
    401,
    403,
    descriptions={
        400: "Bad input; error.details names the parameter.",
        403: "Not a manager or admin.",
    },
)


class TabView(ApiView):
    permission_classes = [IsManager]
    tab = ""
    output_serializer: type[serializers.Serializer]

    def get(self, request):
        query = tabs.parse_tab_query(
            tab=self.tab,
            organization=request.user.organization,
            params=request.query_params,
            as_of=timezone.now(),
        )
        return output(self.output_serializer, {"success": True, **tabs.tab_payload(self.tab, query)})


def tab_view(name: str) -> type[TabView]:
    module = tabs.get_tab(name)
    extra = [OpenApiParameter(p, str, description=d) for p, d in getattr(module, "EXTRA_PARAMS", {}).items()]
    payload_serializer = type(module.OPENAPI_RESPONSE)
    output_serializer = type(
        f"{payload_serializer.__name__}Output", (payload_serializer,), {"success": serializers.BooleanField()}
    )

    def get(self, request):
        return TabView.get(self, request)

    schema = extend_schema(
        summary=f"Dashboard tab: {module.TITLE}",
        parameters=[*COMMON_PARAMETERS, *extra],
        responses={200: output_serializer, **ERRORS},
        tags=["manager analytics"],
        operation_id=f"analytics_{name}",
    )
    return type(
        f"{name.title()}TabView",
        (TabView,),
        {
            "tab": name,
            "output_serializer": output_serializer,
            "repeatable_parameters": REPEATABLE_PARAMETERS.get(name, ()),
            "get": schema(get),
        },
    )
