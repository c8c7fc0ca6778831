"""The report builder and its HTMX endpoints, downloads and the unsubscribe link (docs/reports.md)."""

from django.urls import path

from reports import views

urlpatterns = [
    path("reports", views.builder, name="reports-builder"),
    path("reports/preview", views.preview, name="reports-preview"),
    path("reports/save", views.save, name="reports-save"),
    path("reports/export", views.export, name="reports-export-create"),
    path("reports/exports/<int:export_id>", views.export_status, name="reports-export"),
    path("reports/exports/<int:export_id>/download", views.export_download, name="reports-export-download"),
    path("reports/schedules", views.schedule_create, name="reports-schedule-create"),
    path("reports/schedules/<int:schedule_id>/stop", views.schedule_stop, name="reports-schedule-stop"),
    # ?file=<n>: the n-th file of the delivery (0 first)
    path(
        "reports/deliveries/<int:delivery_id>/file", views.delivery_download, name="reports-delivery-download"
    ),
    path("reports/unsubscribe/<str:token>", views.unsubscribe, name="reports-unsubscribe"),
]
