"""The reports API under /api/v1/reports/ (DESIGN section 9.6; docs/reports.md).

Thin adapters: bind the body through the Input serializer, call one service or read, answer
through the Output serializer. Exports: any member (an agent's export holds the agent's own
numbers; agents see only their own exports); schedules: managers and admins.
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from core.api import ApiView, error_responses, inline_serializer, output, utc_text
from core.errors import ApplicationError, NotInOrganization
from core.tenancy import held_elsewhere
from crm.models import Member
from crm.permissions import IsAgent, IsManager
from reports import services
from reports.models import FORMATS, Export, ExportState, Schedule
from reports.spec import SECTIONS

TAGS = ["reports"]


def export_out(export: Export) -> dict[str, Any]:
    done = export.state == ExportState.DONE and bool(export.file)
    return {
        "id": export.pk,
        "format": export.format,
        "state": export.state,
        "progress": export.progress,
        "spec": export.spec,
        "createdAt": utc_text(export.created_at),
        "finishedAt": utc_text(export.finished_at),
        "filename": export.filename or None,
        "size": export.size if done else None,
        "downloadUrl": reverse("reports-api-export-download", args=[export.pk]) if done else None,
        "error": export.error or None,
    }


def schedule_out(schedule: Schedule, *, members: set[str] | None = None) -> dict[str, Any]:
    outside = services.outside_recipients(schedule.organization, schedule.recipients, members=members)
    return {
        "id": schedule.pk,
        "name": schedule.name,
        "spec": schedule.spec,
        "formats": schedule.formats,
        "cadence": schedule.cadence,
        "time": schedule.time.isoformat("minutes"),
        "weekday": schedule.weekday,
        "monthday": schedule.monthday,
        "timezone": schedule.organization.timezone,
        "recipients": schedule.recipients,
        "outsideRecipients": outside,
        "outsideRecipientsSee": (
            f"Outside addresses get what {schedule.owner.display_name} may see." if outside else None
        ),
        "active": schedule.active,
        "createdAt": utc_text(schedule.created_at),
    }


# --- shapes -----------------------------------------------------------------------------------


class ReportFiltersSerializer(serializers.Serializer):
    region = serializers.CharField(required=False, allow_blank=True, max_length=254)
    productLine = serializers.CharField(required=False, allow_blank=True, max_length=254)
    source = serializers.CharField(required=False, allow_blank=True, max_length=254)
    agent = serializers.CharField(
        required=False, allow_blank=True, max_length=254, help_text="an agent's e-mail"
    )


class ReportSpecInputSerializer(serializers.Serializer):
    """What a report holds (reports.spec): the input part exports and schedules share."""

    sections = serializers.ListField(
        child=serializers.ChoiceField(list(SECTIONS)), min_length=1, max_length=len(SECTIONS)
    )
    range = serializers.ChoiceField(["24h", "7d", "30d", "90d", "1y", "custom"], default="30d")
    start = serializers.DateField(required=False, help_text="custom range: the first local day")
    end = serializers.DateField(required=False, help_text="custom range: the last local day (inclusive)")
    filters = ReportFiltersSerializer(required=False)


SPEC_OUT = serializers.DictField(help_text="sections, range, start, end, filters as sent")
EXPORT = inline_serializer(
    "ReportExport",
    {
        "id": serializers.IntegerField(),
        "format": serializers.ChoiceField(list(FORMATS)),
        "state": serializers.ChoiceField(ExportState.values),
        "progress": serializers.IntegerField(min_value=0, max_value=100),
        "spec": SPEC_OUT,
        "createdAt": serializers.DateTimeField(),
        "finishedAt": serializers.DateTimeField(allow_null=True),
        "filename": serializers.CharField(allow_null=True),
        "size": serializers.IntegerField(allow_null=True, help_text="bytes"),
        "downloadUrl": serializers.CharField(allow_null=True, help_text="when done"),
        "error": serializers.CharField(allow_null=True),
    },
)
SCHEDULE_FIELDS = {
    "id": serializers.IntegerField(),
    "name": serializers.CharField(),
    "spec": SPEC_OUT,
    "formats": serializers.ListField(child=serializers.ChoiceField(list(FORMATS))),
    # Text in the schema: the same three values already name the agent API's period enum.
    "cadence": serializers.CharField(help_text="daily, weekly or monthly"),
    "time": serializers.CharField(help_text="local HH:MM"),
    "weekday": serializers.IntegerField(allow_null=True),
    "monthday": serializers.IntegerField(allow_null=True),
    "timezone": serializers.CharField(),
    "recipients": serializers.ListField(child=serializers.EmailField()),
    "outsideRecipients": serializers.ListField(child=serializers.EmailField()),
    "outsideRecipientsSee": serializers.CharField(allow_null=True),
    "active": serializers.BooleanField(),
    "createdAt": serializers.DateTimeField(),
}
SCHEDULE = inline_serializer("ReportSchedule", SCHEDULE_FIELDS)
SCHEDULE_LIST = inline_serializer(
    "ReportScheduleList", {"results": inline_serializer("ReportScheduleRow", SCHEDULE_FIELDS, many=True)}
)
ERRORS = error_responses(400, 401, 403, 404)
WRITE_ERRORS = {**ERRORS, **error_responses(415)}


def _spec(data: dict) -> dict:
    spec = {"sections": data["sections"], "range": data["range"], "filters": data.get("filters") or {}}
    for name in ("start", "end"):
        if data.get(name):
            spec[name] = data[name].isoformat()
    return spec


def _visible_export(member: Member, export_id: int) -> Export:
    exports = Export.objects.for_org(member.organization)
    if not member.is_manager:
        exports = exports.filter(requested_by=member)
    export = exports.filter(pk=export_id).first()
    if export is None:
        elsewhere = held_elsewhere(Export, member.organization, pk=export_id)
        raise NotInOrganization("No such export.", elsewhere=elsewhere)
    return export


class ExportCreateView(ApiView):
    permission_classes = [IsAgent]

    class ExportInputSerializer(ReportSpecInputSerializer):
        format = serializers.ChoiceField(list(FORMATS))

    @extend_schema(
        summary="Queue an export (pdf, xlsx, csv, png, svg); poll its state and progress",
        request=ExportInputSerializer,
        responses={202: EXPORT, **WRITE_ERRORS},
        tags=TAGS,
    )
    def post(self, request):
        body = self.ExportInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        export = services.export_request(
            organization=request.user.organization,
            member=request.user,
            spec=_spec(body.validated_data),
            fmt=body.validated_data["format"],
            now=timezone.now(),
        )
        return output(type(EXPORT), export_out(export), status_code=202)


class ExportDetailView(ApiView):
    permission_classes = [IsAgent]

    @extend_schema(
        summary="An export's state, progress (0-100) and, when done, its download URL",
        parameters=[OpenApiParameter("export_id", int, OpenApiParameter.PATH)],
        responses={200: EXPORT, **ERRORS},
        tags=TAGS,
    )
    def get(self, request, export_id: int):
        return output(type(EXPORT), export_out(_visible_export(request.user, export_id)))


class ExportDownloadView(ApiView):
    permission_classes = [IsAgent]

    @extend_schema(
        summary="The rendered file of a finished export (kept 90 days)",
        parameters=[OpenApiParameter("export_id", int, OpenApiParameter.PATH)],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="the file"),
            **ERRORS,
            **error_responses(409, descriptions={409: "Not rendered (yet), or failed."}),
        },
        tags=TAGS,
    )
    def get(self, request, export_id: int):
        export = _visible_export(request.user, export_id)
        if export.state != ExportState.DONE:
            raise ApplicationError(f"The export is {export.state}.", status=409, code="conflict")
        path = services.file_path(export.file) if export.file else None
        if path is None:
            raise ApplicationError("The file was deleted after 90 days.", status=404, code="not_found")
        return FileResponse(
            path.open("rb"), as_attachment=True, filename=export.filename, content_type=export.content_type
        )


class ScheduleListView(ApiView):
    permission_classes = [IsManager]

    class ScheduleInputSerializer(ReportSpecInputSerializer):
        name = serializers.CharField(max_length=120)
        formats = serializers.ListField(
            child=serializers.ChoiceField(list(FORMATS)), min_length=1, max_length=5
        )
        # daily, weekly or monthly (checked by the service; as text in the schema, see above)
        cadence = serializers.CharField(max_length=8, help_text="daily, weekly or monthly")
        time = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"], help_text="local HH:MM")
        weekday = serializers.IntegerField(
            required=False, min_value=0, max_value=6, help_text="weekly: 0 Monday"
        )
        monthday = serializers.IntegerField(required=False, min_value=1, max_value=28, help_text="monthly")
        recipients = serializers.ListField(
            child=serializers.EmailField(), min_length=1, max_length=services.MAX_RECIPIENTS
        )

    @extend_schema(
        summary="Schedules of the organization",
        responses={200: SCHEDULE_LIST, **ERRORS},
        tags=TAGS,
        operation_id="report_schedules_list",
    )
    def get(self, request):
        organization = request.user.organization
        schedules = list(Schedule.objects.for_org(organization).select_related("organization", "owner"))
        members = services.member_emails(organization, {e for s in schedules for e in s.recipients})
        return output(type(SCHEDULE_LIST), {"results": [schedule_out(s, members=members) for s in schedules]})

    @extend_schema(
        summary="Schedule a report: daily, weekly or monthly at a local time, to members and outside addresses",
        request=ScheduleInputSerializer,
        responses={201: SCHEDULE, **WRITE_ERRORS},
        tags=TAGS,
    )
    def post(self, request):
        body = self.ScheduleInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        schedule = services.schedule_save(
            organization=request.user.organization,
            owner=request.user,
            data={**data, "spec": _spec(data)},
            now=timezone.now(),
        )
        return output(type(SCHEDULE), schedule_out(schedule), status_code=201)


class ScheduleDetailView(ApiView):
    permission_classes = [IsManager]

    def _schedule(self, request, schedule_id: int) -> Schedule:
        schedule = (
            Schedule.objects.for_org(request.user.organization)
            .select_related("organization", "owner")
            .filter(pk=schedule_id)
            .first()
        )
        if schedule is None:
            elsewhere = held_elsewhere(Schedule, request.user.organization, pk=schedule_id)
            raise NotInOrganization("No such schedule.", elsewhere=elsewhere)
        return schedule

    @extend_schema(
        summary="One schedule",
        parameters=[OpenApiParameter("schedule_id", int, OpenApiParameter.PATH)],
        responses={200: SCHEDULE, **ERRORS},
        tags=TAGS,
        operation_id="report_schedule_retrieve",
    )
    def get(self, request, schedule_id: int):
        return output(type(SCHEDULE), schedule_out(self._schedule(request, schedule_id)))

    @extend_schema(
        summary="Stop a schedule (it stays in the history)",
        parameters=[OpenApiParameter("schedule_id", int, OpenApiParameter.PATH)],
        responses={200: SCHEDULE, **ERRORS},
        tags=TAGS,
    )
    def delete(self, request, schedule_id: int):
        schedule = services.schedule_deactivate(
            schedule=self._schedule(request, schedule_id), actor=request.user
        )
        return output(type(SCHEDULE), schedule_out(schedule))
