"""The manager dashboard pages (docs/dashboard.md). The JSON API is insights/api_urls.py."""

from django.urls import path

from insights import views

urlpatterns = [
    path("dashboard/analytics", views.dashboard, name="insights-dashboard"),
    path("dashboard/analytics/tab/<str:name>", views.tab_fragment, name="insights-tab"),
    path("dashboard/analytics/records/<str:kind>", views.records, name="insights-records"),
    path("dashboard/analytics/export/<str:tab>/<str:table>.csv", views.export_table, name="insights-export"),
    path("dashboard/analytics/goals", views.set_goal, name="insights-goals"),
    path("dashboard/analytics/views", views.save_view, name="insights-save-view"),
    path("dashboard/analytics/views/<int:view_id>/delete", views.delete_view, name="insights-delete-view"),
]
