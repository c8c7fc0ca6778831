"""The report builder (/reports): sections, range, filters and format; a preview; save;
export now with a progress bar (the Celery task's progress, polled with HTMX) and a
download; schedules and their history (managers). Agents build exports of their own numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.core import signing
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from core.errors import ApplicationError
from crm.models import Organization
from crm.views import MANAGER_ROLES, org_page
from insights.bi.reads import agent_choices
from reports import services
from reports.models import FORMATS, Cadence, Delivery, Export, ExportState, Report, Schedule
from reports.schedules import next_occurrence
from reports.sections import build_document
from reports.spec import DASHBOARD_SECTIONS, SECTIONS, parse_spec

PAGE = "reports/builder.html"
FORMAT_LABELS = {
    "pdf": "PDF",
    "xlsx": "Excel (XLSX)",
    "csv": "CSV (a zip for several tables)",
    "png": "Chart images (PNG)",
    "svg": "Chart images (SVG)",
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
AGENT_SECTIONS = ("agent", "insights", *(s for s in DASHBOARD_SECTIONS if s != "campaigns"))
PREVIEW_ROWS = 12


@dataclass(frozen=True)
class Form:
    sections: tuple[str, ...]
    range: str
    start: str
    end: str
    filters: dict[str, str]
    format: str

    @property
    def spec(self) -> dict:
        return {
            "sections": list(self.sections),
            "range": self.range,
            "start": self.start,
            "end": self.end,
            "filters": {k: v for k, v in self.filters.items() if v},
        }


def _form(data, member) -> Form:
    allowed = SECTIONS if member.is_manager else AGENT_SECTIONS
    sections = tuple(s for s in data.getlist("sections") if s in allowed)
    filters = {name: data.get(name, "").strip() for name in ("region", "productLine", "source", "agent")}
    if not member.is_manager:
        filters["agent"] = member.email
    fmt = data.get("format", "pdf")
    return Form(
        sections=sections or (("overview",) if member.is_manager else ("agent",)),
        range=data.get("range", "30d"),
        start=data.get("start", ""),
        end=data.get("end", ""),
        filters=filters,
        format=fmt if fmt in FORMATS else "pdf",
    )


def _form_from_report(report: Report) -> Form:
    spec = report.spec
    return Form(
        sections=tuple(spec.get("sections", ())),
        range=spec.get("range", "30d"),
        start=spec.get("start", ""),
        end=spec.get("end", ""),
        filters={
            name: spec.get("filters", {}).get(name, "")
            for name in ("region", "productLine", "source", "agent")
        },
        format=(report.formats or ["pdf"])[0],
    )


def _schedules(organization: Organization) -> list[dict]:
    now = timezone.now()
    rows = []
    schedules = list(Schedule.objects.for_org(organization).select_related("owner", "organization"))
    members = services.member_emails(organization, {e for s in schedules for e in s.recipients})
    for schedule in schedules:
        outside = services.outside_recipients(organization, schedule.recipients, members=members)
        when = f"{schedule.get_cadence_display()}"
        if schedule.cadence == Cadence.WEEKLY:
            when += f" on {WEEKDAYS[schedule.weekday]}"
        elif schedule.cadence == Cadence.MONTHLY:
            when += f" on day {schedule.monthday}"
        rows.append(
            {
                "schedule": schedule,
                "when": f"{when} at {schedule.time:%H:%M}",
                "outside": outside,
                "next": next_occurrence(
                    cadence=schedule.cadence,
                    time=schedule.time,
                    tz=organization.tz,
                    now=now,
                    weekday=schedule.weekday,
                    monthday=schedule.monthday,
                )
                if schedule.active
                else None,
            }
        )
    return rows


def _context(request: HttpRequest, organization: Organization, form: Form) -> dict:
    member = request.user
    allowed = SECTIONS if member.is_manager else {k: SECTIONS[k] for k in AGENT_SECTIONS}
    context = {
        "form": form,
        "section_choices": list(allowed.items()),
        "format_choices": list(FORMAT_LABELS.items()),
        "range_choices": [
            ("24h", "Last 24 hours"),
            ("7d", "Last 7 days"),
            ("30d", "Last 30 days"),
            ("90d", "Last 90 days"),
            ("1y", "Last year"),
            ("custom", "Custom"),
        ],
        "is_manager": member.is_manager,
        "agents": agent_choices(organization) if member.is_manager else [],
        "reports": Report.objects.for_org(organization).select_related("owner")[:50]
        if member.is_manager
        else [],
        "exports": Export.objects.for_org(organization).filter(requested_by=member)[:10],
        "cadences": Cadence.choices,
        "weekdays": list(enumerate(WEEKDAYS)),
    }
    if member.is_manager:
        context["schedules"] = _schedules(organization)
        context["deliveries"] = (
            Delivery.objects.for_org(organization)
            .select_related("schedule")
            .order_by("-created_at", "-id")[:30]
        )
    return context


@require_GET
@org_page()
def builder(request: HttpRequest, organization: Organization) -> HttpResponse:
    report_id = request.GET.get("report")
    form = _form(request.GET, request.user)
    if report_id and request.user.is_manager:
        report = (
            Report.objects.for_org(organization).filter(pk=report_id if report_id.isdigit() else 0).first()
        )
        if report is None:
            raise Http404("No such report.")
        form = _form_from_report(report)
    return render(request, PAGE, _context(request, organization, form))


@require_GET
@org_page()
def preview(request: HttpRequest, organization: Organization) -> HttpResponse:
    """The document as the export will hold it (the first rows of each table)."""
    form = _form(request.GET, request.user)
    try:
        spec = parse_spec(form.spec, organization=organization, as_of=timezone.now())
    except ApplicationError as exc:
        return render(request, f"{PAGE}#preview", {"problem": exc}, status=400)
    doc = build_document(spec, viewer=request.user, as_of=timezone.now(), title="Preview")
    return render(request, f"{PAGE}#preview", {"doc": doc, "preview_rows": PREVIEW_ROWS})


@require_POST
@org_page(roles=MANAGER_ROLES)
def save(request: HttpRequest, organization: Organization) -> HttpResponse:
    form = _form(request.POST, request.user)
    try:
        report = services.report_save(
            organization=organization,
            owner=request.user,
            name=request.POST.get("name", ""),
            spec=form.spec,
            formats=[form.format],
            now=timezone.now(),
        )
    except ApplicationError as exc:
        messages.error(request, f"Not saved: {exc.message}")
        if request.htmx:
            return HttpResponseClientRedirect(reverse("reports-builder"))
        return redirect(reverse("reports-builder"))
    messages.success(request, f"Saved as “{report.name}”.")
    target = f"{reverse('reports-builder')}?report={report.pk}"
    if request.htmx:
        return HttpResponseClientRedirect(target)
    return redirect(target)


@require_POST
@org_page()
def export(request: HttpRequest, organization: Organization) -> HttpResponse:
    form = _form(request.POST, request.user)
    try:
        export = services.export_request(
            organization=organization,
            member=request.user,
            spec=form.spec,
            fmt=form.format,
            now=timezone.now(),
        )
    except ApplicationError as exc:
        if request.htmx:
            return render(request, f"{PAGE}#export-status", {"problem": exc}, status=400)
        messages.error(request, exc.message)
        return redirect(reverse("reports-builder"))
    if request.htmx:
        return render(request, f"{PAGE}#export-status", {"export": export})
    return redirect(reverse("reports-export", args=[export.pk]))


def _own_export(request: HttpRequest, organization: Organization, export_id: int) -> Export:
    exports = Export.objects.for_org(organization)
    if not request.user.is_manager:
        exports = exports.filter(requested_by=request.user)
    found = exports.filter(pk=export_id).first()
    if found is None:
        raise Http404("No such export.")
    return found


@require_GET
@org_page()
def export_status(request: HttpRequest, organization: Organization, export_id: int) -> HttpResponse:
    """The progress bar (polled every second by HTMX until done or failed)."""
    found = _own_export(request, organization, export_id)
    template = f"{PAGE}#export-status" if request.htmx else "reports/export_page.html"
    return render(request, template, {"export": found})


@require_GET
@org_page()
def export_download(request: HttpRequest, organization: Organization, export_id: int) -> HttpResponse:
    found = _own_export(request, organization, export_id)
    path = services.file_path(found.file) if found.state == ExportState.DONE and found.file else None
    if path is None:
        raise Http404("The file is not there (not rendered yet, failed, or deleted after 90 days).")
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=found.filename, content_type=found.content_type
    )


@require_POST
@org_page(roles=MANAGER_ROLES)
def schedule_create(request: HttpRequest, organization: Organization) -> HttpResponse:
    form = _form(request.POST, request.user)
    raw = request.POST.get("recipients", "").replace(";", ",").replace("\n", ",")
    data = {
        "name": request.POST.get("name", ""),
        "spec": form.spec,
        "formats": request.POST.getlist("formats") or [form.format],
        "cadence": request.POST.get("cadence", ""),
        "time": request.POST.get("time", ""),
        "weekday": int(request.POST["weekday"]) if request.POST.get("weekday", "").isdigit() else None,
        "monthday": int(request.POST["monthday"]) if request.POST.get("monthday", "").isdigit() else None,
        "recipients": [part for part in (p.strip() for p in raw.split(",")) if part],
    }
    params = {**form.spec["filters"], "range": form.range, "start": form.start, "end": form.end}
    back = f"{reverse('reports-builder')}?{urlencode({**params, 'sections': list(form.sections)}, doseq=True)}#schedules"
    try:
        schedule = services.schedule_save(
            organization=organization, owner=request.user, data=data, now=timezone.now()
        )
    except ApplicationError as exc:
        messages.error(request, f"Not scheduled: {exc.message}")
        return HttpResponseClientRedirect(back) if request.htmx else redirect(back)
    outside = services.outside_recipients(organization, schedule.recipients)
    text = f"Scheduled “{schedule.name}” ({schedule.get_cadence_display().lower()} at {schedule.time:%H:%M})."
    if outside:
        text += f" {', '.join(outside)} {'is' if len(outside) == 1 else 'are'} outside the organization: they get what you may see."
    messages.success(request, text)
    return HttpResponseClientRedirect(back) if request.htmx else redirect(back)


@require_POST
@org_page(roles=MANAGER_ROLES)
def schedule_stop(request: HttpRequest, organization: Organization, schedule_id: int) -> HttpResponse:
    schedule = (
        Schedule.objects.for_org(organization).filter(pk=schedule_id).select_related("organization").first()
    )
    if schedule is None:
        raise Http404("No such schedule.")
    services.schedule_deactivate(schedule=schedule, actor=request.user)
    messages.success(request, f"Stopped “{schedule.name}”.")
    return redirect(reverse("reports-builder") + "#schedules")


@require_GET
@org_page(roles=MANAGER_ROLES)
def delivery_download(request: HttpRequest, organization: Organization, delivery_id: int) -> HttpResponse:
    """?file=<n>: the n-th file of a sent copy (0 first), while it is kept (90 days)."""
    raw = request.GET.get("file", "0")
    index = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 4 else -1
    delivery = Delivery.objects.for_org(organization).filter(pk=delivery_id).first()
    if delivery is None or not 0 <= index < len(delivery.files):
        raise Http404("No such file.")
    item = delivery.files[index]
    path = services.file_path(item["path"])
    if path is None:
        raise Http404("The file was deleted after 90 days.")
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=item["name"], content_type=item["content_type"]
    )


@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The e-mail's signed link: GET asks (a mail scanner's prefetch must not unsubscribe),
    POST does it. No sign-in: the signature is the proof."""
    try:
        if request.method == "POST":
            entry = services.unsubscribe(token)
            return render(request, "reports/unsubscribe.html", {"done": True, "entry": entry})
        data = signing.loads(token, salt=services.UNSUBSCRIBE_SALT)
        schedule = Schedule.objects.filter(pk=data.get("s")).first()
        if schedule is None:
            raise ApplicationError("This unsubscribe link is not valid.", status=404)
    except (ApplicationError, signing.BadSignature):
        return render(request, "reports/unsubscribe.html", {"invalid": True}, status=404)
    return render(
        request, "reports/unsubscribe.html", {"schedule": schedule, "email": data.get("e"), "token": token}
    )
