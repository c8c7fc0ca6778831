"""When a schedule is due (reports.schedules): hand-computed local moments."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from reports.schedules import last_occurrence, next_occurrence, period_key

NAIROBI = zoneinfo.ZoneInfo("Africa/Nairobi")  # UTC+3, no daylight saving
LONDON = zoneinfo.ZoneInfo("Europe/London")
SEVEN = dt.time(7, 0)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Mon 7 Dec 2026 04:00 UTC = 07:00 Nairobi: due exactly then
        (utc(2026, 12, 7, 4, 0), utc(2026, 12, 7, 4, 0)),
        # a minute before: yesterday's
        (utc(2026, 12, 7, 3, 59), utc(2026, 12, 6, 4, 0)),
        (utc(2026, 12, 7, 23, 0), utc(2026, 12, 7, 4, 0)),
    ],
)
def test_daily(now, expected):
    assert last_occurrence(cadence="daily", time=SEVEN, tz=NAIROBI, now=now) == expected


def test_weekly_on_monday_and_friday():
    # Wed 9 Dec 2026 10:00 UTC: the last Monday 07:00 Nairobi is 7 Dec 04:00 UTC
    now = utc(2026, 12, 9, 10, 0)
    assert last_occurrence(cadence="weekly", time=SEVEN, tz=NAIROBI, now=now, weekday=0) == utc(
        2026, 12, 7, 4, 0
    )
    # the last Friday: 4 Dec
    assert last_occurrence(cadence="weekly", time=SEVEN, tz=NAIROBI, now=now, weekday=4) == utc(
        2026, 12, 4, 4, 0
    )
    # on Monday before 07:00 local: the Monday before
    early = utc(2026, 12, 7, 3, 0)
    assert last_occurrence(cadence="weekly", time=SEVEN, tz=NAIROBI, now=early, weekday=0) == utc(
        2026, 11, 30, 4, 0
    )


def test_monthly_goes_back_a_month_before_the_day():
    now = utc(2026, 12, 7, 10, 0)
    assert last_occurrence(cadence="monthly", time=SEVEN, tz=NAIROBI, now=now, monthday=1) == utc(
        2026, 12, 1, 4, 0
    )
    assert last_occurrence(cadence="monthly", time=SEVEN, tz=NAIROBI, now=now, monthday=15) == utc(
        2026, 11, 15, 4, 0
    )
    # across a year
    january = utc(2027, 1, 3, 0, 0)
    assert last_occurrence(cadence="monthly", time=SEVEN, tz=NAIROBI, now=january, monthday=5) == utc(
        2026, 12, 5, 4, 0
    )


def test_daylight_saving_keeps_the_local_time():
    # London: 07:00 is 07:00 UTC in winter, 06:00 UTC in summer (BST from 29 Mar 2026)
    winter = last_occurrence(cadence="daily", time=SEVEN, tz=LONDON, now=utc(2026, 3, 28, 12, 0))
    summer = last_occurrence(cadence="daily", time=SEVEN, tz=LONDON, now=utc(2026, 3, 29, 12, 0))
    assert (winter, summer) == (utc(2026, 3, 28, 7, 0), utc(2026, 3, 29, 6, 0))


def test_next_occurrence_and_period_key():
    now = utc(2026, 12, 7, 10, 0)
    assert next_occurrence(cadence="daily", time=SEVEN, tz=NAIROBI, now=now) == utc(2026, 12, 8, 4, 0)
    assert next_occurrence(cadence="weekly", time=SEVEN, tz=NAIROBI, now=now, weekday=0) == utc(
        2026, 12, 14, 4, 0
    )
    assert next_occurrence(cadence="monthly", time=SEVEN, tz=NAIROBI, now=now, monthday=1) == utc(
        2027, 1, 1, 4, 0
    )
    # the period is named by its local date: 02:30 Nairobi on the 8th is still 7 Dec 23:30 UTC
    late = last_occurrence(cadence="daily", time=dt.time(2, 30), tz=NAIROBI, now=utc(2026, 12, 7, 23, 45))
    assert period_key(late, NAIROBI) == "2026-12-08"


def test_a_weekly_schedule_needs_its_weekday():
    with pytest.raises(ValueError, match="weekday"):
        last_occurrence(cadence="weekly", time=SEVEN, tz=NAIROBI, now=utc(2026, 12, 7))
