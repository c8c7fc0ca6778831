"""The /insights page and its HTMX endpoints (docs/insights.md). The JSON API is api_urls.py."""

from django.urls import path

from insights.bi import views

urlpatterns = [
    path("insights", views.insights_page, name="bi-insights"),
    path("insights/list", views.insight_list, name="bi-insights-list"),
    path("insights/refresh", views.refresh_now, name="bi-refresh"),
    path("insights/<int:insight_id>/resolve", views.insight_resolve, name="bi-insight-resolve"),
    path(
        "insights/opportunities/<int:opportunity_id>/status",
        views.opportunity_status,
        name="bi-opportunity-status",
    ),
]
