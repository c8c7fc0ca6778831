"""Celery tasks of the CRM app: thin adapters that take ids and ISO dates."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.db import DatabaseError, OperationalError
from django.utils import timezone

from crm import snapshots
from crm.models import Organization

RETRYABLE = (OperationalError, DatabaseError)
TASK_OPTIONS = {
    "acks_late": True,
    "autoretry_for": RETRYABLE,
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 5,
}


@shared_task(name="crm.snapshot_contacts_all", expires=6 * 3600, **TASK_OPTIONS)
def snapshot_contacts_all(as_of: str | None = None) -> int:
    """Beat entry point: one task per organization for its last complete local day."""
    reference = dt.datetime.fromisoformat(as_of) if as_of else timezone.now()
    count = 0
    for org in Organization.objects.all().only("pk", "timezone"):
        day = snapshots.last_complete_local_day(organization=org, as_of=reference)
        snapshot_contacts.delay(org.pk, day.isoformat())
        count += 1
    return count


@shared_task(name="crm.snapshot_contacts", **TASK_OPTIONS)
def snapshot_contacts(organization_id: int, day: str) -> int:
    org = Organization.objects.get(pk=organization_id)
    the_day = dt.date.fromisoformat(day)
    return snapshots.contact_snapshots_rebuild(organization=org, first_day=the_day, last_day=the_day)


@shared_task(name="crm.process_upload", **TASK_OPTIONS)
def process_upload(import_run_id: int) -> None:
    from crm import uploads  # imported here: uploads pulls in the whole ingestion package

    uploads.upload_process(import_run_id=import_run_id)
