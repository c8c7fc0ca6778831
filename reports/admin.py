"""Reports in the Django admin: saved reports, schedules (stop or restart, rename; the rest is
made on the builder page or the API, which validate it), exports and deliveries (read-only)."""

from __future__ import annotations

from django.contrib import admin

from crm.admin import OrgScopedAdmin
from crm.audit import audit_record
from reports.models import Delivery, Export, Report, Schedule


@admin.register(Report)
class ReportAdmin(OrgScopedAdmin):
    list_display = ("name", "owner", "created_at")
    search_fields = ("name",)
    readonly_fields = ("owner", "spec", "formats", "created_at", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False  # built on the report builder page


@admin.register(Schedule)
class ScheduleAdmin(OrgScopedAdmin):
    list_display = ("name", "cadence", "time", "owner", "active", "created_at")
    list_filter = ("cadence", "active")
    search_fields = ("name",)
    fields = (
        "name",
        "active",
        "owner",
        "cadence",
        "time",
        "weekday",
        "monthday",
        "recipients",
        "formats",
        "spec",
    )
    readonly_fields = ("owner", "cadence", "time", "weekday", "monthday", "recipients", "formats", "spec")

    def has_add_permission(self, request) -> bool:
        return False  # made on the report builder page or POST /api/v1/reports/schedules

    def save_model(self, request, obj, form, change) -> None:
        before = {name: form.initial.get(name) for name in form.changed_data}
        super().save_model(request, obj, form, change)
        if form.changed_data:
            audit_record(
                organization=obj.organization,
                actor=request.user,
                action="report_schedule.change",
                object_type="report_schedule",
                object_id=obj.pk,
                before=before,
                after={name: form.cleaned_data.get(name) for name in form.changed_data},
            )


@admin.register(Delivery)
class DeliveryAdmin(OrgScopedAdmin):
    read_only_model = True
    list_display = ("schedule", "period", "recipient", "state", "attempts", "sent_at")
    list_filter = ("state",)
    search_fields = ("recipient",)


@admin.register(Export)
class ExportAdmin(OrgScopedAdmin):
    read_only_model = True
    list_display = ("created_at", "requested_by", "format", "state", "progress", "filename")
    list_filter = ("state", "format")
