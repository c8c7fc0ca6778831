"""Writes of reports: saved reports, exports, schedules, deliveries (docs/reports.md).

- An export is queued (a row), rendered by a Celery task that reports its progress on the
  row, and downloaded through a view that checks the organization.
- A schedule's due period creates one Delivery per recipient (a unique key: created once);
  a delivery is claimed by one worker with a conditional UPDATE, rendered with the
  recipient's permissions and sent; an SMTP failure is retried with backoff, never twice.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import smtplib
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from core.errors import ApplicationError
from crm.audit import audit_record
from crm.models import Member, Organization, Role
from reports import render
from reports.document import ReportDocument
from reports.models import (
    FORMATS,
    Cadence,
    Delivery,
    DeliveryState,
    Export,
    ExportState,
    Report,
    Schedule,
    Unsubscribe,
)
from reports.schedules import last_occurrence, period_key
from reports.sections import build_document
from reports.spec import parse_spec, spec_from_json

log = logging.getLogger("reports")

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
    "png": "image/png",
    "svg": "image/svg+xml",
    "zip": "application/zip",
}
MAX_ATTEMPTS = 5
# A claim older than this is a worker that died mid-send: the delivery may be claimed again.
STALE_CLAIM = dt.timedelta(minutes=15)
UNSUBSCRIBE_SALT = "reports.unsubscribe"
MAX_RECIPIENTS = 50
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class RenderedFile:
    name: str
    content: bytes
    content_type: str


# --- rendering ------------------------------------------------------------------------------


def _images(doc: ReportDocument, kind: str) -> tuple[bytes, str, str]:
    charts = [(section, chart) for section in doc.sections for chart in section.charts]
    if not charts:
        raise ApplicationError("The chosen sections have no chart to draw.", field="format")

    def one(chart) -> bytes:
        return render.render_png(chart) if kind == "png" else render.render_svg(chart).encode()

    if len(charts) == 1:
        return one(charts[0][1]), CONTENT_TYPES[kind], kind
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (section, chart) in enumerate(charts, start=1):
            archive.writestr(f"{index:02d}-{section.key}-{slugify(chart.title)[:60]}.{kind}", one(chart))
    return buffer.getvalue(), CONTENT_TYPES["zip"], "zip"


def render_document(doc: ReportDocument, fmt: str, *, basename: str, progress=None) -> RenderedFile:
    """One file of `doc` in `fmt` (several tables or charts: a zip)."""
    if fmt == "pdf":
        content, content_type, ext = render.render_pdf(doc, progress=progress), CONTENT_TYPES["pdf"], "pdf"
    elif fmt == "xlsx":
        content, content_type, ext = render.render_xlsx(doc), CONTENT_TYPES["xlsx"], "xlsx"
    elif fmt == "csv":
        content, content_type = render.render_csv_bundle(doc)
        ext = "zip" if content_type == CONTENT_TYPES["zip"] else "csv"
    elif fmt in ("png", "svg"):
        content, content_type, ext = _images(doc, fmt)
    else:
        raise ApplicationError(f"Unknown format {fmt!r}; use {', '.join(FORMATS)}.", field="format")
    return RenderedFile(f"{basename}.{ext}", content, content_type)


def _store(organization_id: int, folder: str, rendered: RenderedFile) -> str:
    """Writes the file under REPORT_FILES_DIR; returns its path relative to that folder."""
    relative = Path(str(organization_id)) / folder / f"{uuid.uuid4().hex}-{rendered.name}"
    path = Path(settings.REPORT_FILES_DIR) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(rendered.content)
    return str(relative)


def file_path(relative: str) -> Path | None:
    """The absolute path of a stored report file, or None when it is gone (kept 90 days)."""
    root = Path(settings.REPORT_FILES_DIR).resolve()
    path = (root / relative).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


def _basename(organization: Organization, name: str, as_of: dt.datetime) -> str:
    return (
        f"{organization.slug}-{slugify(name)[:60] or 'report'}-{as_of.astimezone(organization.tz):%Y-%m-%d}"
    )


# --- saved reports --------------------------------------------------------------------------


def _check_formats(formats: Any) -> list[str]:
    if not isinstance(formats, list) or not formats:
        raise ApplicationError("Choose at least one format.", field="formats")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ApplicationError(f"Unknown format {unknown[0]!r}; use {', '.join(FORMATS)}.", field="formats")
    return list(dict.fromkeys(formats))


def _name(value: Any) -> str:
    name = (value or "").strip() if isinstance(value, str) else ""
    if not name:
        raise ApplicationError("Give the report a name.", field="name")
    if len(name) > 120:
        raise ApplicationError("At most 120 characters.", field="name")
    return name


def report_save(
    *, organization: Organization, owner: Member, name: str, spec: dict, formats: list[str], now: dt.datetime
) -> Report:
    parsed = parse_spec(spec, organization=organization, as_of=now)
    report = Report.objects.create(
        organization=organization,
        owner=owner,
        name=_name(name),
        spec=parsed.as_json(),
        formats=_check_formats(formats),
        created_at=now,
        updated_at=now,
    )
    audit_record(
        organization=organization,
        actor=owner,
        action="report.save",
        object_type="report",
        object_id=report.pk,
        after={"name": report.name, "spec": report.spec, "formats": report.formats},
    )
    return report


# --- exports --------------------------------------------------------------------------------


def export_request(
    *,
    organization: Organization,
    member: Member,
    spec: dict,
    fmt: str,
    now: dt.datetime,
    report: Report | None = None,
) -> Export:
    """Queues an export (a Celery task renders it); answers at once with the row to poll."""
    if fmt not in FORMATS:
        raise ApplicationError(f"Unknown format {fmt!r}; use {', '.join(FORMATS)}.", field="format")
    parsed = parse_spec(spec, organization=organization, as_of=now)
    export = Export.objects.create(
        organization=organization,
        requested_by=member,
        report=report,
        format=fmt,
        spec=parsed.as_json(),
        created_at=now,
    )
    from reports import tasks

    transaction.on_commit(lambda: tasks.render_export.delay(export.pk))
    return export


def _export_progress(export_id: int, percent: int) -> None:
    Export.objects.filter(pk=export_id, state=ExportState.RUNNING, progress__lt=percent).update(
        progress=percent
    )


def export_run(export_id: int, *, now: dt.datetime | None = None) -> Export:
    """Renders a queued export (the task's work): building the document is the first 70% of
    the progress, rendering the file the rest. A second run of a finished export does nothing."""
    claimed = Export.objects.filter(pk=export_id, state__in=[ExportState.QUEUED, ExportState.FAILED]).update(
        state=ExportState.RUNNING, progress=1, error=""
    )
    export = Export.objects.select_related("organization", "requested_by", "report").get(pk=export_id)
    if not claimed:
        return export
    now = now or timezone.now()
    member = export.requested_by
    try:
        if member is None or not member.is_active or member.organization_id != export.organization_id:
            raise ApplicationError("The member who asked for this export is no longer here.")
        name = export.report.name if export.report else "Report"
        doc = build_document(
            spec_from_json(export.spec),
            viewer=member,
            as_of=now,
            title=name,
            progress=lambda f: _export_progress(export.pk, 1 + int(f * 69)),
        )
        rendered = render_document(
            doc,
            export.format,
            basename=_basename(export.organization, name, now),
            progress=lambda f: _export_progress(export.pk, 70 + int(f * 29)),
        )
        relative = _store(export.organization_id, "exports", rendered)
    except Exception as exc:  # the row tells the user; the log has the traceback
        log.exception("export %s failed", export_id)
        message = (
            exc.message if isinstance(exc, ApplicationError) else "The export failed; it has been logged."
        )
        Export.objects.filter(pk=export_id).update(
            state=ExportState.FAILED, error=message, finished_at=timezone.now()
        )
        export.refresh_from_db()
        return export
    Export.objects.filter(pk=export_id).update(
        state=ExportState.DONE,
        progress=100,
        file=relative,
        filename=rendered.name,
        content_type=rendered.content_type,
        size=len(rendered.content),
        finished_at=timezone.now(),
    )
    export.refresh_from_db()
    return export


# --- schedules ------------------------------------------------------------------------------


def _recipients(value: Any, organization: Organization) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ApplicationError("Add at least one recipient.", field="recipients")
    emails = []
    for item in value:
        email = item.strip().lower() if isinstance(item, str) else ""
        if not EMAIL_RE.match(email) or len(email) > 254:
            raise ApplicationError(f"Not an e-mail address: {item!r}.", field="recipients")
        emails.append(email)
    emails = list(dict.fromkeys(emails))
    if len(emails) > MAX_RECIPIENTS:
        raise ApplicationError(f"At most {MAX_RECIPIENTS} recipients.", field="recipients")
    return emails


def member_emails(organization: Organization, emails) -> set[str]:
    """Which of `emails` are active members of the organization (one query)."""
    return set(
        Member.objects.filter(organization=organization, email__in=list(emails), is_active=True).values_list(
            "email", flat=True
        )
    )


def outside_recipients(
    organization: Organization, emails: list[str], *, members: set[str] | None = None
) -> list[str]:
    """The addresses that are not active members; `members` (member_emails of a whole list
    of schedules) saves the query per schedule."""
    known = member_emails(organization, emails) if members is None else members
    return [email for email in emails if email not in known]


def _cadence(data: dict) -> tuple[str, dt.time, int | None, int | None]:
    cadence = data.get("cadence")
    if cadence not in Cadence.values:
        raise ApplicationError(f"Use {', '.join(Cadence.values)}.", field="cadence")
    raw = data.get("time")
    try:
        time = raw if isinstance(raw, dt.time) else dt.time.fromisoformat(str(raw))
    except ValueError:
        raise ApplicationError("Give a local time as HH:MM.", field="time") from None
    if time.second or time.microsecond:
        raise ApplicationError("Give a local time as HH:MM.", field="time")
    weekday = data.get("weekday")
    monthday = data.get("monthday")
    if cadence == "weekly":
        if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
            raise ApplicationError(
                "A weekly report needs a weekday, 0 (Monday) to 6 (Sunday).", field="weekday"
            )
        monthday = None
    elif cadence == "monthly":
        if not isinstance(monthday, int) or isinstance(monthday, bool) or not 1 <= monthday <= 28:
            raise ApplicationError("A monthly report needs a day of the month, 1 to 28.", field="monthday")
        weekday = None
    else:
        weekday = monthday = None
    return cadence, time, weekday, monthday


def schedule_save(*, organization: Organization, owner: Member, data: dict, now: dt.datetime) -> Schedule:
    """A new schedule (managers and admins). It sends from its next occurrence on."""
    if owner.role not in (Role.MANAGER, Role.ADMIN):
        raise ApplicationError(
            "Only managers and admins schedule reports.", status=403, code="permission_denied"
        )
    spec = parse_spec(data.get("spec") or {}, organization=organization, as_of=now)
    cadence, time, weekday, monthday = _cadence(data)
    schedule = Schedule.objects.create(
        organization=organization,
        owner=owner,
        name=_name(data.get("name")),
        spec=spec.as_json(),
        formats=_check_formats(data.get("formats")),
        cadence=cadence,
        time=time,
        weekday=weekday,
        monthday=monthday,
        recipients=_recipients(data.get("recipients"), organization),
        created_at=now,
        starts_at=now,
    )
    audit_record(
        organization=organization,
        actor=owner,
        action="report_schedule.create",
        object_type="report_schedule",
        object_id=schedule.pk,
        after={
            "name": schedule.name,
            "cadence": cadence,
            "time": time.isoformat("minutes"),
            "recipients": schedule.recipients,
            "formats": schedule.formats,
        },
    )
    return schedule


def schedule_deactivate(*, schedule: Schedule, actor: Member) -> Schedule:
    if schedule.active:
        Schedule.objects.filter(pk=schedule.pk).update(active=False)
        audit_record(
            organization=schedule.organization,
            actor=actor,
            action="report_schedule.stop",
            object_type="report_schedule",
            object_id=schedule.pk,
            before={"active": True},
            after={"active": False},
        )
        schedule.active = False
    return schedule


def unsubscribe_token(schedule: Schedule, email: str) -> str:
    return signing.dumps({"s": schedule.pk, "e": email}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe(token: str) -> Unsubscribe:
    """Follows a signed unsubscribe link (no expiry: an old e-mail's link still works)."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        schedule = Schedule.objects.get(pk=data["s"])
        email = str(data["e"])
    except (signing.BadSignature, Schedule.DoesNotExist, KeyError, TypeError):
        raise ApplicationError("This unsubscribe link is not valid.", status=404, code="not_found") from None
    entry, _ = Unsubscribe.objects.get_or_create(schedule=schedule, email=email)
    return entry


def deliveries_create_due(*, now: dt.datetime) -> list[int]:
    """For every active schedule whose latest occurrence has come since it was created, one
    pending delivery per recipient (unless unsubscribed). Idempotent: the unique key (schedule,
    period, recipient) makes a second run, or a second worker, create nothing."""
    created: list[int] = []
    for schedule in Schedule.objects.filter(active=True).select_related("organization"):
        tz = schedule.organization.tz
        occurrence = last_occurrence(
            cadence=schedule.cadence,
            time=schedule.time,
            tz=tz,
            now=now,
            weekday=schedule.weekday,
            monthday=schedule.monthday,
        )
        if occurrence < schedule.starts_at:
            continue
        period = period_key(occurrence, tz)
        left = set(Unsubscribe.objects.filter(schedule=schedule).values_list("email", flat=True))
        members = {
            m.email: m
            for m in Member.objects.filter(organization=schedule.organization, email__in=schedule.recipients)
        }
        for email in schedule.recipients:
            if email in left:
                continue
            # get_or_create: of two workers racing on the unique key one creates, the
            # other gets the row (its IntegrityError is handled inside), so "created" is exact.
            delivery, made = Delivery.objects.get_or_create(
                schedule=schedule,
                period=period,
                recipient=email,
                defaults={
                    "organization": schedule.organization,
                    "member": members.get(email),
                    "next_attempt_at": now,
                    "created_at": now,
                },
            )
            if made:
                created.append(delivery.pk)
    return created


def deliveries_due(*, now: dt.datetime) -> list[int]:
    return list(
        Delivery.objects.filter(
            Q(state__in=[DeliveryState.PENDING, DeliveryState.RETRYING], next_attempt_at__lte=now)
            | Q(state=DeliveryState.SENDING, claimed_at__lt=now - STALE_CLAIM)
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)
    )


def _claim(delivery_id: int, now: dt.datetime) -> bool:
    """One worker wins: a conditional UPDATE from a sendable state to `sending`."""
    return bool(
        Delivery.objects.filter(
            Q(pk=delivery_id)
            & (
                Q(state__in=[DeliveryState.PENDING, DeliveryState.RETRYING], next_attempt_at__lte=now)
                | Q(state=DeliveryState.SENDING, claimed_at__lt=now - STALE_CLAIM)
            )
        ).update(state=DeliveryState.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )


def _viewer_and_audience(delivery: Delivery) -> tuple[Member, str]:
    schedule = delivery.schedule
    member = delivery.member
    if member is not None and member.is_active and member.organization_id == schedule.organization_id:
        return member, ""
    owner = schedule.owner
    return owner, f"Sent by {owner.display_name}: the numbers {owner.display_name} may see."


def delivery_send(delivery_id: int, *, now: dt.datetime | None = None) -> str:
    """Claims, renders with the recipient's permissions and sends one delivery. Returns its
    state afterwards ("sent", "retrying", "failed", or "skipped" when another worker has it)."""
    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return "skipped"
    delivery = Delivery.objects.select_related(
        "schedule", "schedule__organization", "schedule__owner", "member", "member__organization"
    ).get(pk=delivery_id)
    schedule = delivery.schedule
    organization = schedule.organization
    viewer, audience = _viewer_and_audience(delivery)
    try:
        doc = build_document(
            spec_from_json(schedule.spec), viewer=viewer, as_of=now, title=schedule.name, audience=audience
        )
        files = [
            render_document(doc, fmt, basename=_basename(organization, schedule.name, now))
            for fmt in schedule.formats
        ]
    except Exception:
        log.exception("rendering delivery %s failed", delivery_id)
        Delivery.objects.filter(pk=delivery_id).update(
            state=DeliveryState.FAILED, error="The report could not be rendered."
        )
        return "failed"
    unsubscribe_url = settings.SITE_URL.rstrip("/") + reverse(
        "reports-unsubscribe", kwargs={"token": unsubscribe_token(schedule, delivery.recipient)}
    )
    context = {
        "schedule": schedule,
        "organization": organization,
        "doc": doc,
        "audience": audience,
        "unsubscribe_url": unsubscribe_url,
        "files": files,
    }
    message = EmailMessage(
        subject=f"{schedule.name}: {doc.range_label} ({organization.name})",
        body=render_to_string("reports/email/scheduled.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.recipient],
        headers={"List-Unsubscribe": f"<{unsubscribe_url}>"},
        connection=get_connection(),
    )
    for rendered in files:
        message.attach(rendered.name, rendered.content, rendered.content_type)
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        attempts = delivery.attempts
        failed = attempts >= MAX_ATTEMPTS
        wait = dt.timedelta(minutes=min(60, 2 ** (attempts - 1)))
        Delivery.objects.filter(pk=delivery_id).update(
            state=DeliveryState.FAILED if failed else DeliveryState.RETRYING,
            next_attempt_at=now + wait,
            error=f"{type(exc).__name__}: {exc}"[:500],
        )
        log.warning("delivery %s attempt %s failed: %s", delivery_id, attempts, exc)
        return "failed" if failed else "retrying"
    stored = [
        {
            "name": f.name,
            "path": _store(organization.pk, "deliveries", f),
            "content_type": f.content_type,
            "size": len(f.content),
        }
        for f in files
    ]
    Delivery.objects.filter(pk=delivery_id).update(
        state=DeliveryState.SENT, sent_at=now, files=stored, error=""
    )
    return "sent"


def send_due_reports(*, now: dt.datetime) -> dict[str, int]:
    """What `send_due_reports` and the beat task do: create the due deliveries and send every
    sendable one (in this process). Safe to run twice or on two workers at once."""
    created = deliveries_create_due(now=now)
    outcomes: dict[str, int] = {"created": len(created)}
    for delivery_id in deliveries_due(now=now):
        state = delivery_send(delivery_id, now=now)
        outcomes[state] = outcomes.get(state, 0) + 1
    return outcomes


def files_expire(*, now: dt.datetime) -> int:
    """Deletes report files older than REPORT_FILES_DAYS (exports and sent copies)."""
    cutoff = now - dt.timedelta(days=settings.REPORT_FILES_DAYS)
    removed = 0
    for export in Export.objects.filter(created_at__lt=cutoff).exclude(file=""):
        path = file_path(export.file)
        if path is not None:
            path.unlink()
            removed += 1
        Export.objects.filter(pk=export.pk).update(file="")
    for delivery in Delivery.objects.filter(sent_at__lt=cutoff).exclude(files=[]):
        for item in delivery.files:
            path = file_path(item["path"])
            if path is not None:
                path.unlink()
                removed += 1
        Delivery.objects.filter(pk=delivery.pk).update(files=[])
    return removed
