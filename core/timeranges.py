"""Time windows (DESIGN section 4): parsing a range, the previous period, local days.

Pure: the reference time `as_of` is always an argument. Windows are half-open [start, end).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass

from core.errors import ApplicationError

NAMED_RANGES: dict[str, dt.timedelta] = {
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
    "90d": dt.timedelta(days=90),
    "1y": dt.timedelta(days=365),
}
DEFAULT_RANGE = "30d"
MAX_DAYS = 3660


class RangeError(ApplicationError):
    """A range the user asked for that we cannot answer (400 on `range`); the message is
    shown to them."""

    field = "range"


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime
    label: str = ""

    @property
    def length(self) -> dt.timedelta:
        return self.end - self.start

    def previous(self) -> Window:
        return Window(start=self.start - self.length, end=self.start, label=f"prev-{self.label}")

    def contains(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end


def allowed_ranges_text() -> str:
    return ", ".join(NAMED_RANGES) + " or a number of days (1-3660)"


def parse_range(value: str | None, *, as_of: dt.datetime, allow_days: bool = True) -> Window:
    """`24h`, `7d`, `30d`, `90d`, `1y` or (agents' API) a plain number of days."""
    text = (value or DEFAULT_RANGE).strip().lower()
    if text in NAMED_RANGES:
        return Window(start=as_of - NAMED_RANGES[text], end=as_of, label=text)
    days = text[:-1] if text.endswith("d") else text
    # isascii(): "²" passes isdigit() but not int(); the length cap keeps int() cheap.
    if allow_days and days.isascii() and days.isdigit() and len(days) <= 4 and 1 <= int(days) <= MAX_DAYS:
        return Window(start=as_of - dt.timedelta(days=int(days)), end=as_of, label=f"{int(days)}d")
    raise RangeError(f"Unknown range {value!r}; use {allowed_ranges_text()}.")


def day_window(first_day: dt.date, last_day: dt.date, tz: zoneinfo.ZoneInfo) -> Window:
    """Local days [first_day, last_day] as a UTC-aware window."""
    return Window(
        start=local_midnight(first_day, tz), end=local_midnight(last_day + dt.timedelta(days=1), tz)
    )


def local_midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def first_full_day(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    """The first local day that starts at or after `moment`."""
    local = moment.astimezone(tz)
    day = local.date()
    return day if local_midnight(day, tz) == moment else day + dt.timedelta(days=1)


def last_day_start_at_or_before(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    """The local day whose midnight is the last one at or before `moment`."""
    return moment.astimezone(tz).date()


def days(first_day: dt.date, last_day: dt.date) -> Iterator[dt.date]:
    day = first_day
    while day <= last_day:
        yield day
        day += dt.timedelta(days=1)


def week_start(day: dt.date) -> dt.date:
    """Monday of the ISO week of `day`."""
    return day - dt.timedelta(days=day.weekday())


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The first of the month `months` after the month of `day` (day must be the 1st)."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def hour_floor(moment: dt.datetime) -> dt.datetime:
    """The start of the UTC hour holding `moment` (an aware datetime), in UTC."""
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def hour_ceil(moment: dt.datetime) -> dt.datetime:
    """The first start of a UTC hour at or after `moment`, in UTC."""
    floor = hour_floor(moment)
    return floor if floor == moment else floor + dt.timedelta(hours=1)


def whole_hour_offsets(tz: dt.tzinfo, window: Window) -> bool:
    """Whether the zone's offset from UTC is a whole number of hours all through the window,
    so every UTC hour of it is one local hour (checked every week: no zone changes its offset
    more often, and half-hour offsets last months)."""
    moment = window.start
    while True:
        offset = moment.astimezone(tz).utcoffset()
        if offset is None or offset.total_seconds() % 3600:
            return False
        if moment >= window.end:
            return True
        moment = min(moment + dt.timedelta(days=7), window.end)
