from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from crm.api_auth import TokenObtainView, TokenRefreshView

# API paths answer Django's 404 and 500 in the JSON error shape, pages keep the HTML ones.
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/token/", TokenObtainView.as_view(), name="token_obtain"),
    path("api/auth/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Under the Content-Security-Policy (docs/security.md): Swagger UI's init script is served
    # by this address with ?script, not inline, and the template drops drf-spectacular's inline
    # CSS. There is no ReDoc page: it needs inline styles, blob: workers and an image from its
    # vendor's CDN, for a second view of the same schema.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api_docs/swagger_ui.html"),
        name="api-docs",
    ),
    path("api/v1/bi/", include("pricing.api_urls")),
    path("api/v1/reports/", include("reports.api_urls")),
    path("api/v1/bi/", include("insights.live_api_urls")),
    path("api/v1/bi/", include("insights.experiments.api_urls")),
    path("api/v1/", include("crm.api_urls")),
    path("api/analytics/", include("insights.api_urls")),
    path("api/bi/", include("insights.bi.api_urls")),
    path("", include("agents.api_urls")),
    path("", include("agents.urls")),
    path("", include("insights.urls")),
    path("", include("insights.bi.urls")),
    path("", include("pricing.urls")),
    path("", include("insights.experiments.urls")),
    path("", include("reports.urls")),
    path("", include("crm.urls")),
]
