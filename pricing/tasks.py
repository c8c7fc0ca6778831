"""Celery tasks of pricing: thin adapters over pricing.services and pricing.notices."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from crm.tasks import TASK_OPTIONS
from pricing import notices, services


@shared_task(name="pricing.apply_and_expire", expires=3600, **TASK_OPTIONS)
def apply_and_expire(now: str | None = None) -> dict[str, int]:
    """Hourly: approved suggestions whose date has come are applied, undecided ones past
    their expiry date expire. Idempotent: a second run finds nothing to do."""
    moment = dt.datetime.fromisoformat(now) if now else timezone.now()
    applied = services.suggestions_apply_due(now=moment)
    expired = services.suggestions_expire(now=moment)
    return {"applied": len(applied), "expired": expired}


@shared_task(name="pricing.send_price_notices", **TASK_OPTIONS)
def send_price_notices(suggestion_id: int) -> int:
    """The 30-day notices of an approved price change to the customers it affects."""
    return notices.price_notices_send(suggestion_id=suggestion_id)
