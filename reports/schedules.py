"""When a schedule is due: pure calendar arithmetic in the organization's time zone.

A schedule sends one copy per period: daily at `time`, weekly on `weekday` at `time`, monthly
on `monthday` at `time` (local). `last_occurrence(...)` is the latest such moment at or before
`now`; its local date names the period ("2026-12-07"), which keys the deliveries, so running
the job twice (or on two workers) finds the same period and sends nothing new.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from core.timeranges import add_months


def _at(day: dt.date, time: dt.time, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    # fold=0: in a repeated hour (DST end) the first occurrence; a skipped hour moves forward
    # with the zone's offset, as zoneinfo resolves it.
    return dt.datetime.combine(day, time, tzinfo=tz)


def last_occurrence(
    *,
    cadence: str,
    time: dt.time,
    tz: zoneinfo.ZoneInfo,
    now: dt.datetime,
    weekday: int | None = None,
    monthday: int | None = None,
) -> dt.datetime:
    """The latest scheduled moment at or before `now` (aware, in `tz`)."""
    today = now.astimezone(tz).date()
    if cadence == "daily":
        candidate = _at(today, time, tz)
        return candidate if candidate <= now else _at(today - dt.timedelta(days=1), time, tz)
    if cadence == "weekly":
        if weekday is None:
            raise ValueError("a weekly schedule needs a weekday")
        day = today - dt.timedelta(days=(today.weekday() - weekday) % 7)
        candidate = _at(day, time, tz)
        return candidate if candidate <= now else _at(day - dt.timedelta(days=7), time, tz)
    if cadence == "monthly":
        if monthday is None:
            raise ValueError("a monthly schedule needs a day of the month")
        this_month = today.replace(day=1)
        candidate = _at(this_month.replace(day=monthday), time, tz)
        if candidate <= now:
            return candidate
        return _at(add_months(this_month, -1).replace(day=monthday), time, tz)
    raise ValueError(f"unknown cadence {cadence!r}")


def next_occurrence(
    *,
    cadence: str,
    time: dt.time,
    tz: zoneinfo.ZoneInfo,
    now: dt.datetime,
    weekday: int | None = None,
    monthday: int | None = None,
) -> dt.datetime:
    """The first scheduled moment after `now` (for the page: "next: Mon 8 Dec, 07:00")."""
    last = last_occurrence(cadence=cadence, time=time, tz=tz, now=now, weekday=weekday, monthday=monthday)
    local = last.astimezone(tz).date()
    if cadence == "daily":
        return _at(local + dt.timedelta(days=1), time, tz)
    if cadence == "weekly":
        return _at(local + dt.timedelta(days=7), time, tz)
    return _at(add_months(local.replace(day=1), 1).replace(day=monthday or 1), time, tz)


def period_key(occurrence: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    return occurrence.astimezone(tz).date().isoformat()
