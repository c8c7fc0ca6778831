"""The daily contact snapshot: total and new contacts per organization per local day.

Definitions (docs/metrics.md, "Growth velocity"): for local day D in the organization's
time zone, `new_contacts` counts contacts created in [D 00:00, D+1 00:00) and
`total_contacts` counts contacts created before D+1 00:00.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncDate

from crm.models import Contact, ContactSnapshot, Organization

logger = logging.getLogger(__name__)


def local_day_start(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def last_complete_local_day(*, organization: Organization, as_of: dt.datetime) -> dt.date:
    return as_of.astimezone(organization.tz).date() - dt.timedelta(days=1)


def contact_snapshots_rebuild(*, organization: Organization, first_day: dt.date, last_day: dt.date) -> int:
    """Recompute the snapshots of [first_day, last_day] (local days) and replace them.

    Delete-and-rewrite in one transaction: running it twice, or after a crash halfway,
    leaves the same rows. Two queries whatever the number of days.
    """
    if last_day < first_day:
        raise ValueError("last_day is before first_day")
    started = time.monotonic()
    tz = organization.tz
    start = local_day_start(first_day, tz)
    end = local_day_start(last_day + dt.timedelta(days=1), tz)
    contacts = Contact.objects.for_org(organization)
    before = contacts.filter(created_at__lt=start).count()
    per_day = dict(
        contacts.filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    rows = []
    running = before
    day = first_day
    while day <= last_day:
        new = per_day.get(day, 0)
        running += new
        rows.append(
            ContactSnapshot(organization=organization, day=day, total_contacts=running, new_contacts=new)
        )
        day += dt.timedelta(days=1)
    with transaction.atomic():
        ContactSnapshot.objects.for_org(organization).filter(day__gte=first_day, day__lte=last_day).delete()
        ContactSnapshot.objects.bulk_create(rows)
    logger.info(
        "snapshot organization=%s statistic=contacts rows=%d ms=%d",
        organization.pk,
        len(rows),
        (time.monotonic() - started) * 1000,
    )
    return len(rows)
