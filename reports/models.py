"""Saved reports, exports, schedules and deliveries (DESIGN section 9.6; docs/reports.md).

A report's content is a `ReportSpec` (sections, range, filters) kept as JSON: the builder,
the API, exports and schedules all pass the same dict. Files live under MEDIA_ROOT/reports
and are kept 90 days (the cleanup job deletes them and says so on the history).
"""

from __future__ import annotations

from django.db import models
from django.utils.timezone import now

from core.tenancy import OrgManager
from crm.models import Member, Organization

FORMATS = ("pdf", "xlsx", "csv", "png", "svg")


class Report(models.Model):
    """A saved report: what the builder's Save keeps, and what a schedule sends."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    owner = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, related_name="+")
    name = models.CharField(max_length=120)
    # {"sections": [...], "range": "30d", "start": "", "end": "", "filters": {...}}
    spec = models.JSONField(default=dict)
    formats = models.JSONField(default=list)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    objects = OrgManager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["organization", "name"], name="report_org_name")]

    def __str__(self) -> str:
        return self.name


class ExportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Export(models.Model):
    """One "export now": rendered by a Celery task that reports its progress here."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    requested_by = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, related_name="+")
    report = models.ForeignKey(
        Report, on_delete=models.SET_NULL, null=True, blank=True, related_name="exports"
    )
    format = models.CharField(max_length=8)
    spec = models.JSONField(default=dict)
    state = models.CharField(max_length=8, choices=ExportState.choices, default=ExportState.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    file = models.CharField(max_length=300, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = OrgManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "created_at"], name="export_org_created")]

    def __str__(self) -> str:
        return f"{self.format} export {self.pk} ({self.state})"


class Cadence(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class Schedule(models.Model):
    """A report sent daily, weekly or monthly at a local time to members and outside
    addresses; each copy is rendered with its recipient's permissions (an outside address
    gets what the owner may see)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    owner = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    report = models.ForeignKey(
        Report, on_delete=models.SET_NULL, null=True, blank=True, related_name="schedules"
    )
    spec = models.JSONField(default=dict)
    formats = models.JSONField(default=list)
    cadence = models.CharField(max_length=8, choices=Cadence.choices)
    time = models.TimeField(help_text="local time of the organization")
    weekday = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="0 Monday .. 6 Sunday (weekly)"
    )
    monthday = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1..28 (monthly)")
    # Lower-cased e-mails: members of the organization and outside addresses.
    recipients = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)
    # The first period due: schedules never send for periods before they existed.
    starts_at = models.DateTimeField(default=now)

    objects = OrgManager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["active", "organization"], name="schedule_active_org")]

    def __str__(self) -> str:
        return self.name


class Unsubscribe(models.Model):
    """A recipient who followed the signed unsubscribe link of a schedule."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="unsubscribes")
    email = models.EmailField()
    at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["schedule", "email"], name="unsubscribe_once")]

    def __str__(self) -> str:
        return f"{self.email} left {self.schedule}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One copy of one period of one schedule for one recipient: created once (the unique
    key), claimed by one worker (a conditional update), sent once."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="deliveries")
    period = models.CharField(
        max_length=32, help_text="the period's local start, e.g. 2026-12-07 or 2026-W49"
    )
    recipient = models.EmailField()
    member = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    state = models.CharField(max_length=8, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # [{"name": ..., "path": ..., "content_type": ..., "size": ...}] of the files sent
    files = models.JSONField(default=list)
    created_at = models.DateTimeField(default=now)

    objects = OrgManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "period", "recipient"], name="delivery_once_per_period"
            )
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_state_next")]

    def __str__(self) -> str:
        return f"{self.schedule} {self.period} to {self.recipient} ({self.state})"
