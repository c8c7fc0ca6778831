"""Asking for an on-demand business-intelligence run (the page's "Refresh now" button).

The task itself is `insights.bi_refresh(org_id)` (insights/tasks.py); it is queued by name
after the current transaction commits, so the worker never starts before the request's
writes are visible (RELIABILITY.md: a task queued inside a transaction).
"""

from __future__ import annotations

import logging

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError

from crm.models import Organization
from insights.bi import refresh

logger = logging.getLogger(__name__)

TASK_NAME = "insights.bi_refresh"


def _send(organization_id: int, outcome: dict[str, bool]) -> None:
    # "queued" first: a fast worker's "running" must not be overwritten by it afterwards.
    refresh.set_refresh_status(organization_id, "queued")
    try:
        current_app.send_task(TASK_NAME, args=[organization_id])
    except BrokerError:
        outcome["queued"] = False
        refresh.set_refresh_status(organization_id, "failed", error="broker unavailable")
        logger.warning("broker unavailable; bi refresh for organization=%s not queued", organization_id)


def request_refresh(organization: Organization) -> bool:
    """Queue one run for `organization` once the transaction commits. True when it was
    queued (or will be at commit); False when the broker refused it (the nightly run still
    comes)."""
    outcome = {"queued": True}
    transaction.on_commit(lambda: _send(organization.pk, outcome))
    return outcome["queued"]
