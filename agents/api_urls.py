from django.urls import path

from agents import api

urlpatterns = [
    path("agent/analytics/kpis", api.KpisView.as_view(), name="agent-api-kpis"),
    path("agent/analytics/funnel", api.FunnelView.as_view(), name="agent-api-funnel"),
    path("agent/analytics/lead-sources", api.LeadSourcesView.as_view(), name="agent-api-lead-sources"),
    path("agent/analytics/revenue-trends", api.RevenueTrendsView.as_view(), name="agent-api-revenue-trends"),
    path("agent/analytics/activities", api.ActivitiesView.as_view(), name="agent-api-activities"),
    path("agent/goals", api.GoalsView.as_view(), name="agent-api-goals"),
]
