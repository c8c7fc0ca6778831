"""Celery tasks of the manager analytics: ids and ISO timestamps in, services do the work."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.core.cache import cache
from django.db import DatabaseError, OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from crm.models import Organization
from insights import services
from insights.bi import refresh

logger = logging.getLogger(__name__)

TASK_OPTIONS = {
    "acks_late": True,
    "autoretry_for": (OperationalError, DatabaseError),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 5,
}
REFRESH_DEBOUNCE_SECONDS = 30


def _reference(as_of: str | None) -> dt.datetime:
    return dt.datetime.fromisoformat(as_of) if as_of else timezone.now()


@shared_task(name="insights.refresh_rollups_all", expires=6 * 3600, **TASK_OPTIONS)
def refresh_rollups_all(as_of: str | None = None) -> int:
    """Nightly: one rollup refresh per organization."""
    ids = list(Organization.objects.values_list("pk", flat=True))
    for org_id in ids:
        refresh_rollups.delay(org_id, as_of)
    return len(ids)


@shared_task(name="insights.refresh_rollups", **TASK_OPTIONS)
def refresh_rollups(organization_id: int, as_of: str | None = None) -> str | None:
    cache.delete(_pending_key(organization_id))
    org = Organization.objects.get(pk=organization_id)
    span = services.insights_rollups_refresh(organization=org, as_of=_reference(as_of))
    return f"{span[0].isoformat()}..{span[1].isoformat()}" if span else None


def _pending_key(organization_id: int) -> str:
    return f"insights:refresh-pending:{organization_id}"


def schedule_rollups_refresh(organization_id: int) -> bool:
    """Queue one refresh after an ingest, at most one pending per organization.

    A big import commits hundreds of batches; the debounce key keeps that to one task. If
    the broker is down the stale mark stays and readers compute those days live, so the
    answers stay right; the nightly run catches up.
    """
    if not cache.add(_pending_key(organization_id), 1, REFRESH_DEBOUNCE_SECONDS):
        return False
    try:
        refresh_rollups.apply_async((organization_id,), countdown=5)
    except BrokerError:
        cache.delete(_pending_key(organization_id))
        logger.warning(
            "broker unavailable; insights rollup refresh for organization=%s deferred", organization_id
        )
        return False
    return True


@shared_task(name="insights.bi_refresh_all", expires=6 * 3600, **TASK_OPTIONS)
def bi_refresh_all(as_of: str | None = None) -> int:
    """Nightly: one business-intelligence run (performance series, insights, opportunities)
    per organization."""
    ids = list(Organization.objects.values_list("pk", flat=True))
    for org_id in ids:
        bi_refresh_task.delay(org_id, as_of)
    return len(ids)


@shared_task(name="insights.bi_refresh", **TASK_OPTIONS)
def bi_refresh_task(organization_id: int, as_of: str | None = None) -> dict:
    org = Organization.objects.get(pk=organization_id)
    try:
        return refresh.bi_refresh(organization=org, as_of=_reference(as_of))
    except Exception as exc:  # the retry boundary: record the failure for the page, then re-raise
        refresh.set_refresh_status(organization_id, "failed", error=type(exc).__name__)
        raise
