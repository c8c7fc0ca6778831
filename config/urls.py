from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from crm.api_auth import TokenObtainView, TokenRefreshView

# API paths answer Django's 404 and 500 in the JSON error shape, pages keep the HTML ones.
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/token/", TokenObtainView.as_view(), name="token_obtain"),
    path("api/auth/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/v1/bi/", include("pricing.api_urls")),
    path("api/v1/reports/", include("reports.api_urls")),
    path("api/v1/bi/", include("insights.live_api_urls")),
    path("api/v1/", include("crm.api_urls")),
    path("api/analytics/", include("insights.api_urls")),
    path("api/bi/", include("insights.bi.api_urls")),
    path("", include("agents.api_urls")),
    path("", include("agents.urls")),
    path("", include("insights.urls")),
    path("", include("insights.bi.urls")),
    path("", include("pricing.urls")),
    path("", include("reports.urls")),
    path("", include("crm.urls")),
]
