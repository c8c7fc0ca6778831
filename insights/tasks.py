"""Celery tasks of the manager analytics: ids and ISO timestamps in, services do the work."""

from __future__ import annotations

import logging

from celery import shared_task

from core.tasks import TASK_OPTIONS, reference_time
from crm.models import Organization
from insights.bi import refresh

logger = logging.getLogger(__name__)


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
        return refresh.bi_refresh(organization=org, as_of=reference_time(as_of))
    except Exception as exc:  # the retry boundary: record the failure for the page, then re-raise
        refresh.set_refresh_status(organization_id, "failed", error=type(exc).__name__)
        raise
