"""Local calendars for the demo generator: which local day and hour an instant falls on,
weighted day and hour pickers, and moving an instant into working hours.

Instants are POSIX seconds (floats) inside the generator, because millions of them are made;
they become aware UTC datetimes only when a record is written. Local days come from the
organization's time zone (DESIGN section 4); on the two daylight-saving days a year an hour
may be off by one, which no dashboard can notice.
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from zoneinfo import ZoneInfo

from crm.demo import profiles

HOUR = 3600.0
DAY = 86400.0
# Pre-window contacts and legacy customers' first leads reach this far before the window.
LOOKBACK_DAYS = 760
# Share of Saturdays a given piece of work happens on (the floor is half-staffed).
SATURDAY_OPEN = 0.3
_SATURDAY_SHIFTS = (-5, -4, -3, -2, -1, 2, 3, 4, 5, 6)
_SUNDAY_SHIFTS = (-6, -5, -4, -3, -2, 1, 2, 3, 4, 5)


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day of the month `months` earlier, clamped to the month's last day."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def window_start_date(*, as_of: dt.datetime, timezone: str) -> dt.date:
    """First local day of the history: HISTORY_MONTHS before the local date of as_of."""
    return months_before(as_of.astimezone(ZoneInfo(timezone)).date(), profiles.HISTORY_MONTHS)


def anomaly_day(*, as_of: dt.datetime, timezone: str) -> dt.date:
    """The local day with the spike of inbound chats and calls (docs/demo-data.md)."""
    local_date = as_of.astimezone(ZoneInfo(timezone)).date()
    return local_date - dt.timedelta(days=profiles.ANOMALY_DAYS_BEFORE)


class CumulativePicker:
    """Picks an index with probability proportional to its weight, by bisection."""

    __slots__ = ("_cum", "_total", "_offset")

    def __init__(self, weights: Sequence[float], *, offset: int = 0) -> None:
        self._cum = list(accumulate(weights))
        self._total = self._cum[-1]
        if self._total <= 0:
            raise ValueError("at least one weight must be positive")
        self._offset = offset

    def pick(self, rng: random.Random) -> int:
        return self._offset + bisect_right(self._cum, rng.random() * self._total)


class Timeline:
    """Local days from LOOKBACK_DAYS before the window to the local date of as_of."""

    def __init__(self, *, as_of: dt.datetime, timezone: str) -> None:
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        tz = ZoneInfo(timezone)
        self.timezone = timezone
        self.end = as_of.timestamp()
        last_date = as_of.astimezone(tz).date()
        window_first = months_before(last_date, profiles.HISTORY_MONTHS)
        self.first_date = window_first - dt.timedelta(days=LOOKBACK_DAYS)
        count = (last_date - self.first_date).days + 1
        dates = [self.first_date + dt.timedelta(days=i) for i in range(count + 1)]
        # One extra local midnight closes the last day.
        self.day_start = [dt.datetime.combine(d, dt.time(), tzinfo=tz).timestamp() for d in dates]
        self.weekday = [d.weekday() for d in dates[:count]]
        self.month = [d.month for d in dates[:count]]
        self.last = count - 1
        self.window_first = (window_first - self.first_date).days
        self.start = self.day_start[self.window_first]
        self.anomaly = (anomaly_day(as_of=as_of, timezone=timezone) - self.first_date).days
        self._business_hours = CumulativePicker(profiles.BUSINESS_HOUR_WEIGHTS)
        self._saturday_hours = CumulativePicker(
            [w if 9 <= hour < 13 else 0 for hour, w in enumerate(profiles.BUSINESS_HOUR_WEIGHTS)]
        )

    # --- reading instants ---------------------------------------------------------------
    def day_of(self, t: float) -> int:
        day = bisect_right(self.day_start, t) - 1
        return min(max(day, 0), self.last)

    def date_of(self, day: int) -> dt.date:
        return self.first_date + dt.timedelta(days=day)

    def day_of_date(self, date: dt.date) -> int:
        return (date - self.first_date).days

    def hour_of(self, t: float) -> int:
        return int((t - self.day_start[self.day_of(t)]) // HOUR)

    # --- making instants ----------------------------------------------------------------
    def at(self, day: int, hour: float, rng: random.Random) -> float:
        """A random instant within local `hour` of `day`, never at or after as_of."""
        t = self.day_start[day] + hour * HOUR + rng.random() * HOUR
        if t >= self.end:
            t = self.day_start[day] + rng.random() * max(self.end - self.day_start[day], 1.0)
        return t

    def working(self, t: float, rng: random.Random) -> float:
        """t itself if the sales floor is open then, else a working time on the next open day.

        Open 08-18 on weekdays and 09-13 on some Saturdays; closed on Sundays. This is what
        makes response times include nights and weekends, and activity dip at weekends.
        """
        day = self.day_of(t)
        seconds = t - self.day_start[day]
        weekday = self.weekday[day]
        if weekday < 5 and 8 * HOUR <= seconds < 18 * HOUR:
            return t
        if weekday == 5 and 9 * HOUR <= seconds < 13 * HOUR and rng.random() < SATURDAY_OPEN:
            return t
        if not (weekday < 5 and seconds < 8 * HOUR):
            day += 1
        while day <= self.last:
            weekday = self.weekday[day]
            if weekday < 5:
                return self.at(day, self._business_hours.pick(rng), rng)
            if weekday == 5 and rng.random() < SATURDAY_OPEN:
                return self.at(day, self._saturday_hours.pick(rng), rng)
            day += 1
        return self.end + DAY

    def workday_time(self, t: float, rng: random.Random) -> float:
        """A working time on the day of t, or on the nearest working day: for things with no
        deadline (follow-ups, check-ins), so weekends are quiet without a Monday pile-up."""
        day = self.day_of(t)
        weekday = self.weekday[day]
        if weekday == 6 or (weekday == 5 and rng.random() >= SATURDAY_OPEN):
            # Any weekday of this week or the next, so neither Friday nor Monday piles up.
            day += rng.choice(_SATURDAY_SHIFTS if weekday == 5 else _SUNDAY_SHIFTS)
            day = min(max(day, 0), self.last)
        if self.weekday[day] == 5:
            return self.at(day, self._saturday_hours.pick(rng), rng)
        return self.at(day, self._business_hours.pick(rng), rng)

    def lead_day_picker(self) -> CumulativePicker:
        """Days of the window weighted for new leads: weekday, season and growth."""
        first, last = self.window_first, self.last
        span = max(last - first, 1)
        weights = [
            profiles.WEEKDAY_WEIGHTS[self.weekday[d]]
            * profiles.MONTH_FACTORS[self.month[d] - 1]
            * profiles.GROWTH_OVER_WINDOW ** ((d - first) / span)
            for d in range(first, last + 1)
        ]
        # The last day is only partly over at as_of.
        weights[-1] *= (self.end - self.day_start[last]) / DAY
        return CumulativePicker(weights, offset=first)
