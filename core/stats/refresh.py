"""The writes of the statistics engine: stale marks from ingestion, the idempotent refresh
of a family up to yesterday, and the rebuild of a span of days."""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from core.models import FillState
from core.stats.families import Family, families, family_get
from core.timeranges import hour_floor
from crm.events import Ingested
from crm.models import Organization

logger = logging.getLogger(__name__)


def statistics_rebuild(
    *, organization: Organization, family: str, first_day: dt.date, last_day: dt.date
) -> int:
    """Rewrite the family's rows of the local days [first_day, last_day]; returns the rows."""
    started = time.monotonic()
    rows = family_get(family).rebuild(organization=organization, first_day=first_day, last_day=last_day)
    logger.info(
        "statistics organization=%s family=%s first=%s last=%s rows=%d ms=%d",
        organization.pk,
        family,
        first_day,
        last_day,
        rows,
        (time.monotonic() - started) * 1000,
    )
    return rows


def _first_day_to_rebuild(
    *, organization: Organization, family: Family, state: FillState, yesterday: dt.date
) -> dt.date:
    """The earliest of: the first stale day, the day after the last filled one (or the first
    day with data on a first fill, no earlier than the family's first-fill days), and the
    family's trailing days."""
    candidates = [yesterday - dt.timedelta(days=family.trailing_days - 1)]
    if state.dirty_from is not None:
        candidates.append(state.dirty_from)
    if state.filled_through is not None:
        candidates.append(state.filled_through + dt.timedelta(days=1))
    else:
        earliest = family.earliest_day(organization)
        if earliest is not None and family.first_fill_days is not None:
            earliest = max(earliest, yesterday - dt.timedelta(days=family.first_fill_days - 1))
        if earliest is not None:
            candidates.append(earliest)
    return min(candidates)


def _refresh_lock(*, organization: Organization, family: str) -> None:
    """One refresh of an organization's family at a time: two at once (the nightly fan-out and
    an ingestion's queued refresh) would both delete and both insert the same days, and the
    rollups have no unique keys to refuse the second copy. A transaction-level advisory lock
    on PostgreSQL (the second waits, then finds little left to do); SQLite runs one writer at
    a time anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"core.stats:{organization.pk}:{family}"]
            )


def statistics_refresh(
    *, organization: Organization, family: str, as_of: dt.datetime
) -> tuple[dt.date, dt.date] | None:
    """Bring one family up to the last complete local day, rebuilding stale days; returns the
    span rebuilt. Clears the stale mark only when no ingestion marked anything while it ran
    (the version check), so nothing ingested meanwhile is ever taken as rolled up. Serialized
    per organization and family (`_refresh_lock`)."""
    # The fill state row exists (committed) before the refresh's transaction: an ingestion
    # running meanwhile must find it to leave its stale mark.
    FillState.objects.get_or_create(organization=organization, family=family)
    with transaction.atomic():
        _refresh_lock(organization=organization, family=family)
        return _refresh(organization=organization, family=family, as_of=as_of)


def _refresh(
    *, organization: Organization, family: str, as_of: dt.datetime
) -> tuple[dt.date, dt.date] | None:
    declared = family_get(family)
    state = FillState.objects.get(organization=organization, family=family)
    version = state.version
    yesterday = as_of.astimezone(organization.tz).date() - dt.timedelta(days=1)
    first = _first_day_to_rebuild(
        organization=organization, family=declared, state=state, yesterday=yesterday
    )
    if first <= yesterday:
        statistics_rebuild(organization=organization, family=family, first_day=first, last_day=yesterday)
    filled_through = max(yesterday, state.filled_through) if state.filled_through else yesterday
    # Today's hours too, so that clearing a stale mark of today leaves no stale hour behind.
    hours_through = _hours_rebuild(
        organization=organization, family=declared, after_day=filled_through, as_of=as_of
    )
    cleared = FillState.objects.filter(pk=state.pk, version=version).update(
        filled_through=filled_through, dirty_from=None, hours_through=hours_through, updated_at=timezone.now()
    )
    if not cleared:
        # Something was ingested meanwhile: keep its stale mark for the next run.
        FillState.objects.filter(pk=state.pk).update(
            filled_through=filled_through, hours_through=hours_through, updated_at=timezone.now()
        )
    if declared.after_refresh is not None:
        declared.after_refresh(organization=organization, as_of=as_of)
    return (first, yesterday) if first <= yesterday else None


def _hours_rebuild(
    *, organization: Organization, family: Family, after_day: dt.date, as_of: dt.datetime
) -> dt.datetime | None:
    """Rebuild the family's hour-level rows of the local days after `after_day` up to today
    from the raw rows before the last whole hour; returns that hour (None: no hour levels)."""
    if family.rebuild_hours is None:
        return None
    until = hour_floor(as_of)
    today = as_of.astimezone(organization.tz).date()
    first = after_day + dt.timedelta(days=1)
    if first <= today:
        family.rebuild_hours(organization=organization, first_day=first, last_day=today, until=until)
    return until


def statistics_refresh_hours(
    *, organization: Organization, family: str, as_of: dt.datetime
) -> dt.datetime | None:
    """The intraday refresh: bring the family's hour levels up to the last whole hour before
    `as_of` for the days after the last filled one (today, and yesterday until the nightly
    run), so a window's recent edge is read from hours, not raw rows. Does nothing while a
    stale mark waits for the full refresh (which rebuilds those hours itself) or before the
    first fill. Returns the new `hours_through`, or None."""
    declared = family_get(family)
    if declared.rebuild_hours is None:
        return None
    with transaction.atomic():
        _refresh_lock(organization=organization, family=family)
        state = FillState.objects.filter(organization=organization, family=family).first()
        if state is None or state.filled_through is None or state.dirty_from is not None:
            return None
        version = state.version
        until = _hours_rebuild(
            organization=organization, family=declared, after_day=state.filled_through, as_of=as_of
        )
        # Only if nothing was ingested meanwhile (the stale mark then keeps the hours untrusted
        # anyway; the full refresh it queued moves hours_through itself).
        FillState.objects.filter(pk=state.pk, version=version).update(hours_through=until)
    return until


def statistics_mark_stale(event: Ingested) -> list[str]:
    """Ingestion listener: for every family the entity feeds, the local day of the first
    stored business timestamp and the later ones are no longer trusted. Moves `dirty_from`
    only backwards and bumps `version`; queues a refresh after commit. Returns the families."""
    names = [f.name for f in families() if event.entity in f.stale_entities]
    if not names or event.first_at is None:
        return []
    org = Organization.objects.only("timezone").get(pk=event.organization_id)
    day = event.first_at.astimezone(org.tz).date()
    FillState.objects.filter(organization_id=event.organization_id, family__in=names).update(
        dirty_from=Case(
            When(Q(dirty_from__isnull=True) | Q(dirty_from__gt=day), then=Value(day)),
            default=F("dirty_from"),
        ),
        version=F("version") + 1,
    )
    transaction.on_commit(lambda: _schedule(event.organization_id, names))
    return names


def _schedule(organization_id: int, names: list[str]) -> None:
    from core import tasks

    for name in names:
        tasks.schedule_statistics_refresh(organization_id, name)
