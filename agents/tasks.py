"""Celery tasks of the agent analytics: ids and ISO timestamps in, services do the work."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.core.cache import cache
from django.db import DatabaseError, OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from agents import analytics, services
from crm.models import Organization
from crm.timeranges import parse_range

logger = logging.getLogger(__name__)

TASK_OPTIONS = {
    "acks_late": True,
    "autoretry_for": (OperationalError, DatabaseError),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 5,
}
# Rankings precomputed for the ranges the pages offer.
RANKED_RANGES = ("7d", "30d", "90d", "1y")
REFRESH_DEBOUNCE_SECONDS = 30


def _reference(as_of: str | None) -> dt.datetime:
    return dt.datetime.fromisoformat(as_of) if as_of else timezone.now()


@shared_task(name="agents.refresh_metrics_all", expires=6 * 3600, **TASK_OPTIONS)
def refresh_metrics_all(as_of: str | None = None) -> int:
    """Nightly: one refresh per organization."""
    ids = list(Organization.objects.values_list("pk", flat=True))
    for org_id in ids:
        refresh_metrics.delay(org_id, as_of)
    return len(ids)


@shared_task(name="agents.refresh_metrics", **TASK_OPTIONS)
def refresh_metrics(organization_id: int, as_of: str | None = None) -> None:
    cache.delete(_pending_key(organization_id))
    org = Organization.objects.get(pk=organization_id)
    now = _reference(as_of)
    services.agent_metrics_refresh(organization=org, as_of=now)
    services.goals_record_achievements(organization=org, as_of=now)
    refresh_rankings.delay(organization_id, as_of)


@shared_task(name="agents.refresh_rankings_all", expires=14 * 60, **TASK_OPTIONS)
def refresh_rankings_all(as_of: str | None = None) -> int:
    """Every 15 minutes: one ranking refresh per organization."""
    ids = list(Organization.objects.values_list("pk", flat=True))
    for org_id in ids:
        refresh_rankings.delay(org_id, as_of)
    return len(ids)


@shared_task(name="agents.refresh_rankings", expires=14 * 60, **TASK_OPTIONS)
def refresh_rankings(organization_id: int, as_of: str | None = None) -> int:
    """Recompute and cache the team rankings, and record goals achieved meanwhile."""
    org = Organization.objects.get(pk=organization_id)
    now = _reference(as_of)
    for label in RANKED_RANGES:
        window = parse_range(label, as_of=now)
        ranking = analytics.compute_ranking(organization=org, window=window)
        analytics.store_ranking(organization=org, window=window, ranking=ranking)
    return services.goals_record_achievements(organization=org, as_of=now)


def _pending_key(organization_id: int) -> str:
    return f"agents:refresh-pending:{organization_id}"


def schedule_metrics_refresh(organization_id: int) -> bool:
    """Queue one refresh for an organization after an ingest, at most one pending at a time.

    A big import commits hundreds of batches; the debounce key keeps that to one task. If
    the broker is down the stale mark stays and readers compute those days live, so the
    answers stay right; the nightly run catches up.
    """
    if not cache.add(_pending_key(organization_id), 1, REFRESH_DEBOUNCE_SECONDS):
        return False
    try:
        refresh_metrics.apply_async((organization_id,), countdown=5)
    except BrokerError:
        cache.delete(_pending_key(organization_id))
        logger.warning(
            "broker unavailable; agent metrics refresh for organization=%s deferred", organization_id
        )
        return False
    return True
