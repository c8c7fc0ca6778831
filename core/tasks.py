"""The statistics engine's Celery tasks: ids, family names and ISO timestamps in."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.core.cache import cache
from django.db import DatabaseError, OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from core.stats.families import families
from core.stats.refresh import statistics_refresh, statistics_refresh_hours
from crm.models import Organization

logger = logging.getLogger(__name__)

# Every task of the product: redelivered if a worker dies, retried with backoff on database
# errors only (a bug is not retried).
TASK_OPTIONS = {
    "acks_late": True,
    "autoretry_for": (OperationalError, DatabaseError),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 5,
}
# A big import commits hundreds of batches: at most one queued refresh per organization and
# family in this many seconds.
REFRESH_DEBOUNCE_SECONDS = 30


def reference_time(as_of: str | None) -> dt.datetime:
    """A task's reference time: the ISO timestamp it was given (backfills, tests), else now."""
    return dt.datetime.fromisoformat(as_of) if as_of else timezone.now()


# Expires: a backlog does not run last night's fan-out next to tonight's.
@shared_task(name="core.refresh_statistics_all", expires=6 * 3600, **TASK_OPTIONS)
def refresh_statistics_all(as_of: str | None = None) -> int:
    """Nightly: one refresh per organization and family; returns the tasks queued."""
    ids = list(Organization.objects.values_list("pk", flat=True))
    names = [family.name for family in families()]
    for org_id in ids:
        for name in names:
            refresh_statistics.delay(org_id, name, as_of)
    return len(ids) * len(names)


@shared_task(name="core.refresh_statistics", **TASK_OPTIONS)
def refresh_statistics(organization_id: int, family: str, as_of: str | None = None) -> str | None:
    cache.delete(_pending_key(organization_id, family))
    org = Organization.objects.get(pk=organization_id)
    span = statistics_refresh(organization=org, family=family, as_of=reference_time(as_of))
    return f"{span[0].isoformat()}..{span[1].isoformat()}" if span else None


# Expires before the next run: a backlog never queues the same hours twice.
@shared_task(name="core.refresh_statistics_hours_all", expires=4 * 60, **TASK_OPTIONS)
def refresh_statistics_hours_all(as_of: str | None = None) -> int:
    """Every few minutes: one intraday refresh per organization and family with hour levels."""
    ids = list(Organization.objects.values_list("pk", flat=True))
    names = [family.name for family in families() if family.rebuild_hours is not None]
    for org_id in ids:
        for name in names:
            refresh_statistics_hours.apply_async((org_id, name, as_of), expires=4 * 60)
    return len(ids) * len(names)


@shared_task(name="core.refresh_statistics_hours", **TASK_OPTIONS)
def refresh_statistics_hours(organization_id: int, family: str, as_of: str | None = None) -> str | None:
    org = Organization.objects.get(pk=organization_id)
    until = statistics_refresh_hours(organization=org, family=family, as_of=reference_time(as_of))
    return until.isoformat() if until else None


def _pending_key(organization_id: int, family: str) -> str:
    return f"statistics:refresh-pending:{organization_id}:{family}"


def schedule_statistics_refresh(organization_id: int, family: str) -> bool:
    """Queue one refresh after an ingest, at most one pending per organization and family.

    If the broker is down the stale mark stays and readers compute those days live, so the
    answers stay right; the nightly run catches up.
    """
    if not cache.add(_pending_key(organization_id, family), 1, REFRESH_DEBOUNCE_SECONDS):
        return False
    try:
        refresh_statistics.apply_async((organization_id, family), countdown=5)
    except BrokerError:
        cache.delete(_pending_key(organization_id, family))
        logger.warning(
            "broker unavailable; %s statistics refresh for organization=%s deferred", family, organization_id
        )
        return False
    return True
