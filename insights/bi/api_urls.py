"""/api/bi/: the business-intelligence JSON API, exactly the seed's paths (no trailing slash)."""

from django.urls import path

from insights.bi import api

urlpatterns = [
    path("dashboard", api.DashboardView.as_view(), name="bi-api-dashboard"),
    path("insights", api.InsightsView.as_view(), name="bi-api-insights"),
    path(
        "insights/missed-opportunities",
        api.MissedOpportunitiesView.as_view(),
        name="bi-api-missed-opportunities",
    ),
    path("insights/upsell-potential", api.UpsellPotentialView.as_view(), name="bi-api-upsell-potential"),
    path("metrics", api.MetricsView.as_view(), name="bi-api-metrics"),
    path(
        "insights/<int:insight_id>/resolve", api.InsightResolveView.as_view(), name="bi-api-insight-resolve"
    ),
    path(
        "opportunities/<int:opportunity_id>/update-status",
        api.OpportunityStatusView.as_view(),
        name="bi-api-opportunity-status",
    ),
]
