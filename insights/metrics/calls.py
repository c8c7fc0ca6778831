"""Pure arithmetic of the Calls tab (docs/metrics.md, "Calls tab").

Inputs are the additive totals of insights.selectors and the grouped counts of
insights.selectors.calls; rates and means follow insights.metrics (percent 0-100, one
decimal, None over nothing). The change of a count or a mean is a trend (% of the previous
value); the change of a rate is in points, as on the overview, never a percent of a percent.
No ORM, no request, no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal

from core.metrics import percent, ratio, trend_percent, trend_points
from core.timeranges import Window, local_midnight
from insights.metrics import Number, calls_block, one_decimal

# Drill-down values of insights.selectors.records (a test keeps them equal).
NO_OUTCOME = "(none)"
UNKNOWN_COUNTRY = "unknown"
TOP_COUNTRIES = 10
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOURS = tuple(range(24))
# Up to this long, W is drawn hour by hour (24h, or one custom day even with a DST change).
HOURLY_UP_TO = dt.timedelta(hours=25)

Counts = Mapping[str, int]
HourCounts = Mapping[tuple[dt.date, int], Counts]


def points_change(part: Number, whole: Number, part_before: Number, whole_before: Number) -> float | None:
    """The change of the rate part / whole in percentage points (core.metrics.trend_points) on
    the unrounded rates; None when either rate is over nothing."""
    return trend_points(percent(part, whole), percent(part_before, whole_before))


def kpi_block(totals: Mapping[str, Number], *, exact: bool = False) -> dict:
    """The overview's calls block plus the automated (AI-assisted) share; `exact=True`:
    unrounded, as insights.metrics.calls_block."""
    block = calls_block(totals, exact=exact)
    automated = totals.get("automated", 0)
    share = percent(automated, block["total"])
    return {
        **block,
        "automated": automated,
        "manual": block["total"] - automated,
        "automatedShare": share if exact else one_decimal(share),
    }


def _mean_duration(totals: Mapping[str, Number]) -> Decimal | None:
    return ratio(totals.get("duration_seconds_sum", 0), totals.get("duration_count", 0))


def kpi_changes(current: Mapping[str, Number], previous: Mapping[str, Number]) -> dict:
    """Each KPI against the previous window, from the unrounded totals."""
    now_mean, before_mean = _mean_duration(current), _mean_duration(previous)
    calls, calls_before = current.get("calls", 0), previous.get("calls", 0)
    return {
        "total": trend_percent(current=calls, previous=calls_before),
        "successRate": points_change(
            current.get("successful", 0), calls, previous.get("successful", 0), calls_before
        ),
        "averageDuration": trend_percent(current=now_mean, previous=before_mean),
        "totalMinutes": trend_percent(
            current=current.get("duration_seconds_sum", 0), previous=previous.get("duration_seconds_sum", 0)
        ),
        "automatedShare": points_change(
            current.get("automated", 0), calls, previous.get("automated", 0), calls_before
        ),
    }


def _point(label: str, day: dt.date, hour: int | None, counts: Counts, *, partial: bool) -> dict:
    calls, successful = counts.get("calls", 0), counts.get("successful", 0)
    return {
        "label": label,
        "day": day.isoformat(),
        "hour": hour,
        "calls": calls,
        "successful": successful,
        "successRate": one_decimal(percent(successful, calls)),
        "partial": partial,
    }


def _add(into: dict, counts: Counts) -> None:
    for name, value in counts.items():
        into[name] = into.get(name, 0) + value


def daily_points(window: Window, tz: dt.tzinfo, by_hour: HourCounts) -> list[dict]:
    """One point per local day touching W, zero-filled; `partial` marks the first day when W
    starts after its midnight (it counts only the calls from W's start)."""
    per_day: dict[dt.date, dict] = {}
    for (day, _hour), counts in by_hour.items():
        _add(per_day.setdefault(day, {}), counts)
    first = window.start.astimezone(tz).date()
    last = (window.end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    points, day = [], first
    while day <= last:
        partial = day == first and local_midnight(first, tz) != window.start
        points.append(_point(day.isoformat(), day, None, per_day.get(day, {}), partial=partial))
        day += dt.timedelta(days=1)
    return points


def hourly_points(window: Window, tz: dt.tzinfo, by_hour: HourCounts) -> list[dict]:
    """One point per local hour touching W, zero-filled; `partial` marks the first hour when W
    starts inside it. Steps are taken in UTC so a DST change neither skips nor repeats a
    point (a repeated local hour is one group, as in the query)."""
    floor = window.start.astimezone(tz).replace(minute=0, second=0, microsecond=0)
    moment, seen, points = floor.astimezone(dt.UTC), set(), []
    while moment < window.end:
        local = moment.astimezone(tz)
        key = (local.date(), local.hour)
        if key not in seen:
            seen.add(key)
            label = f"{local:%d %b} {local.hour:02d}:00"
            points.append(
                _point(
                    label, key[0], key[1], by_hour.get(key, {}), partial=not points and floor != window.start
                )
            )
        moment += dt.timedelta(hours=1)
    return points


def outcome_rows(groups: Iterable[tuple[str, str | None, Counts]], *, total: int) -> list[dict]:
    """Calls per outcome text ("(none)" when empty), most calls first, with their share of W."""
    calls: dict[str, int] = {}
    for outcome, _country, counts in groups:
        label = outcome or NO_OUTCOME
        calls[label] = calls.get(label, 0) + counts.get("calls", 0)
    ordered = sorted(calls.items(), key=lambda item: (-item[1], item[0]))
    return [{"outcome": label, "calls": n, "share": one_decimal(percent(n, total))} for label, n in ordered]


def _country_row(counts: Counts, total: int) -> dict:
    calls, successful = counts.get("calls", 0), counts.get("successful", 0)
    return {
        "calls": calls,
        "successful": successful,
        "successRate": one_decimal(percent(successful, calls)),
        "share": one_decimal(percent(calls, total)),
    }


def country_rows(
    groups: Iterable[tuple[str, str | None, Counts]], *, total: int, top: int = TOP_COUNTRIES
) -> tuple[list[dict], dict | None]:
    """The `top` countries by calls (then by code), and the others summed (None if none)."""
    per_country: dict[str, dict] = {}
    for _outcome, country, counts in groups:
        _add(per_country.setdefault(country or UNKNOWN_COUNTRY, {}), counts)
    ordered = sorted(per_country.items(), key=lambda item: (-item[1].get("calls", 0), item[0]))
    rows = [{"country": code, **_country_row(counts, total)} for code, counts in ordered[:top]]
    rest = ordered[top:]
    if not rest:
        return rows, None
    summed: dict = {}
    for _code, counts in rest:
        _add(summed, counts)
    return rows, {"countries": len(rest), **_country_row(summed, total)}


def heatmap(by_hour: HourCounts) -> dict:
    """Weekday (Mon..Sun rows) x local hour (0..23 columns): calls, successful and the success
    rate (None where there was no call)."""
    cells = [[{} for _hour in HOURS] for _day in WEEKDAYS]
    for (day, hour), counts in by_hour.items():
        _add(cells[day.isoweekday() - 1][hour], counts)
    calls = [[c.get("calls", 0) for c in row] for row in cells]
    successful = [[c.get("successful", 0) for c in row] for row in cells]
    rates = [
        [one_decimal(percent(s, n)) for s, n in zip(srow, nrow, strict=True)]
        for srow, nrow in zip(successful, calls, strict=True)
    ]
    return {"weekdays": list(WEEKDAYS), "calls": calls, "successful": successful, "successRate": rates}
