"""The fill-state contract shared by every rollup (agents' daily rows, insights' rollups).

A fill state says the rows are valid up to `filled_through`, except from `dirty_from` on
(ingestion marks days stale); readers take the trusted days from the rollups and compute
everything else of a window live, so an answer always equals the raw computation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from django.db.models import Case, F, Model, Q, Value, When

from crm.models import Organization
from crm.timeranges import Window, first_full_day, local_midnight


class FillState(Protocol):
    filled_through: dt.date | None
    dirty_from: dt.date | None


def trusted_through(state: FillState | None) -> dt.date | None:
    """The last day whose rollup rows are valid, or None."""
    if state is None or state.filled_through is None:
        return None
    if state.dirty_from is not None:
        return min(state.filled_through, state.dirty_from - dt.timedelta(days=1))
    return state.filled_through


@dataclass(frozen=True)
class WindowPlan:
    """Which local days of a window the rollups answer, and which ranges are computed live."""

    rollup_days: tuple[dt.date, dt.date] | None
    live_ranges: tuple[tuple[dt.datetime, dt.datetime], ...]


def window_plan(window: Window, *, tz: dt.tzinfo, trusted_last_day: dt.date | None) -> WindowPlan:
    first = first_full_day(window.start, tz)
    # The last local day that ends at or before the window's end.
    last = window.end.astimezone(tz).date() - dt.timedelta(days=1)
    if trusted_last_day is not None:
        last = min(last, trusted_last_day)
    if trusted_last_day is None or last < first:
        return WindowPlan(rollup_days=None, live_ranges=((window.start, window.end),))
    rollup_start = local_midnight(first, tz)
    rollup_end = local_midnight(last + dt.timedelta(days=1), tz)
    ranges = []
    if window.start < rollup_start:
        ranges.append((window.start, rollup_start))
    if rollup_end < window.end:
        ranges.append((rollup_end, window.end))
    return WindowPlan(rollup_days=(first, last), live_ranges=tuple(ranges))


def mark_stale(model: type[Model], *, organization_id: int, first_at: dt.datetime) -> None:
    """Ingestion stored business rows from `first_at` on: that local day and the later ones
    are no longer trusted. Moves `dirty_from` only backwards and bumps `version`, so a
    rebuild running meanwhile does not clear the mark (see the rebuild services)."""
    org = Organization.objects.only("timezone").get(pk=organization_id)
    day = first_at.astimezone(org.tz).date()
    model.objects.filter(organization_id=organization_id).update(
        dirty_from=Case(
            When(Q(dirty_from__isnull=True) | Q(dirty_from__gt=day), then=Value(day)),
            default=F("dirty_from"),
        ),
        version=F("version") + 1,
    )
