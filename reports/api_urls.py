"""/api/v1/reports/: exports and schedules (DESIGN section 9.6), no trailing slash."""

from django.urls import path

from reports import api

urlpatterns = [
    path("exports", api.ExportCreateView.as_view(), name="reports-api-exports"),
    path("exports/<int:export_id>", api.ExportDetailView.as_view(), name="reports-api-export"),
    path(
        "exports/<int:export_id>/download",
        api.ExportDownloadView.as_view(),
        name="reports-api-export-download",
    ),
    path("schedules", api.ScheduleListView.as_view(), name="reports-api-schedules"),
    path("schedules/<int:schedule_id>", api.ScheduleDetailView.as_view(), name="reports-api-schedule"),
]
