"""Reading a family's fill state, and the plan that splits a window into trusted rollup days
and a live rest, so an answer always equals the raw computation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.models import FillState
from core.timeranges import Window, first_full_day, local_midnight
from crm.models import Organization


def fill_state(organization: Organization, family: str) -> FillState | None:
    return FillState.objects.for_org(organization).filter(family=family).first()


def trusted_through(state: FillState | None) -> dt.date | None:
    """The last day whose rollup rows are valid, or None."""
    if state is None or state.filled_through is None:
        return None
    if state.dirty_from is not None:
        return min(state.filled_through, state.dirty_from - dt.timedelta(days=1))
    return state.filled_through


def hours_trusted_until(state: FillState | None, tz: dt.tzinfo) -> dt.datetime | None:
    """The instant before which the family's hour levels hold every raw row (window_totals'
    `hours_until`): the end of the last trusted day, or later, up to the last intraday
    refresh, while nothing is marked stale. None: no hour can be trusted."""
    last = trusted_through(state)
    if last is None:
        return None
    until = local_midnight(last + dt.timedelta(days=1), tz)
    if state.dirty_from is None and state.hours_through is not None:
        until = max(until, state.hours_through)
    return until


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
