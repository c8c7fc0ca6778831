"""Celery tasks of reports: thin adapters over reports.services."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from crm.tasks import TASK_OPTIONS
from reports import services


@shared_task(name="reports.render_export", **TASK_OPTIONS)
def render_export(export_id: int) -> str:
    """Renders one export; its row carries the progress the builder page polls."""
    return services.export_run(export_id).state


@shared_task(name="reports.send_due_all", expires=4 * 60, **TASK_OPTIONS)
def send_due_all(now: str | None = None) -> int:
    """Every 5 minutes: create the due deliveries and fan out one task per sendable one."""
    moment = dt.datetime.fromisoformat(now) if now else timezone.now()
    services.deliveries_create_due(now=moment)
    due = services.deliveries_due(now=moment)
    for delivery_id in due:
        send_delivery.delay(delivery_id)
    return len(due)


@shared_task(name="reports.send_delivery", **TASK_OPTIONS)
def send_delivery(delivery_id: int) -> str:
    """One copy; a second task for the same delivery finds it claimed and does nothing."""
    return services.delivery_send(delivery_id)


@shared_task(name="reports.expire_files", **TASK_OPTIONS)
def expire_files() -> int:
    return services.files_expire(now=timezone.now())
