"""Pure arithmetic of the Revenue tab (docs/metrics.md, "Revenue tab").

- Buckets are local days, ISO weeks (Monday first) or calendar months, named by their first
  day; a bucket is complete when all of it lies inside the window.
- Win rate = won / decided leads (%, one decimal, None when none decided); its change against
  the previous window is in percentage points, as every rate's change on the dashboard.
- The sales cycle is a median of durations in days (one decimal, None without a lead).
- Deal sizes fall in buckets of one "nice" width (1, 2 or 5 x 10^k, at least 1) chosen so
  that ten buckets from 0 reach past the largest amount.

No ORM, no request, no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.metrics import percent, ratio
from core.timeranges import add_months, month_start, week_start
from insights.metrics import Number, money, one_decimal
from insights.metrics.calls import points_change

PERIODS = ("day", "week", "month")
# Windows up to this many days are drawn per day by default, longer ones per week.
DAILY_UP_TO_DAYS = 90
# How far the forecast looks ahead, in buckets of the period.
FORECAST_HORIZON = {"day": 7, "week": 4, "month": 3}
DEAL_SIZE_BUCKETS = 10
NICE_STEPS = (1, 2, 5)
NONE_LABEL = "(none)"
SECONDS_PER_DAY = Decimal(86400)


# --- time buckets ---------------------------------------------------------------------------


def default_period(window_days: float) -> str:
    return "day" if window_days <= DAILY_UP_TO_DAYS else "week"


def bucket_start(day: dt.date, period: str) -> dt.date:
    if period == "week":
        return week_start(day)
    if period == "month":
        return month_start(day)
    return day


def next_bucket(start: dt.date, period: str) -> dt.date:
    if period == "week":
        return start + dt.timedelta(days=7)
    if period == "month":
        return add_months(start, 1)
    return start + dt.timedelta(days=1)


def bucket_starts(first_day: dt.date, last_day: dt.date, period: str) -> list[dt.date]:
    """The buckets covering the local days [first_day, last_day], in order."""
    starts, start = [], bucket_start(first_day, period)
    while start <= last_day:
        starts.append(start)
        start = next_bucket(start, period)
    return starts


def following_buckets(last: dt.date, period: str, count: int) -> list[dt.date]:
    out, start = [], last
    for _ in range(count):
        start = next_bucket(start, period)
        out.append(start)
    return out


def bucket_last_day(start: dt.date, period: str) -> dt.date:
    return next_bucket(start, period) - dt.timedelta(days=1)


def bucket_labels(starts: Sequence[dt.date], period: str) -> list[str]:
    """Short labels, unique within the list (the chart's x axis is keyed by label)."""
    if period == "month":
        return [f"{d:%b %Y}" for d in starts]
    with_year = len({d.year for d in starts}) > 1
    return [f"{d.day} {d:%b %Y}" if with_year else f"{d.day} {d:%b}" for d in starts]


# --- KPIs -----------------------------------------------------------------------------------


def win_rate(*, won: int, decided: int) -> float | None:
    return one_decimal(percent(won, decided))


def win_rate_change(*, won: int, decided: int, won_before: int, decided_before: int) -> float | None:
    """The change of the win rate in percentage points (not a percent of a percent), on the
    unrounded rates; None when either window decided nothing."""
    return points_change(won, decided, won_before, decided_before)


def median_days(middle: Sequence[dt.timedelta]) -> Decimal | None:
    """The median, in days (unrounded), from the one or two middle durations of an ordered
    list (the mean of the two for an even count)."""
    if not middle:
        return None
    seconds = sum((Decimal(str(d.total_seconds())) for d in middle), Decimal(0)) / len(middle)
    return seconds / SECONDS_PER_DAY


# --- deal sizes -----------------------------------------------------------------------------


def nice_width(largest: Decimal) -> Decimal:
    """The smallest 1/2/5 x 10^k (k >= 0) with DEAL_SIZE_BUCKETS x width > largest."""
    scale = Decimal(1)
    while True:
        for step in NICE_STEPS:
            width = step * scale
            if width * DEAL_SIZE_BUCKETS > largest:
                return width
        scale *= 10


@dataclass(frozen=True)
class DealBucket:
    low: Decimal | None  # None: the bucket of negative amounts (refunds), below 0
    high: Decimal | None  # None: no upper edge (the last bucket holds the largest amount)


def deal_size_buckets(
    *, largest: Decimal | None, has_negative: bool
) -> tuple[Decimal | None, list[DealBucket]]:
    """(width, buckets) for amounts up to `largest`: [0, w), [w, 2w), ... up to the bucket
    holding `largest`, which is left open above, plus "below 0" when there are refunds."""
    buckets = [DealBucket(None, Decimal(0))] if has_negative else []
    if largest is None or largest < 0:
        return None, buckets
    width = nice_width(largest)
    count = int(largest // width) + 1
    for i in range(count):
        buckets.append(DealBucket(width * i, width * (i + 1) if i < count - 1 else None))
    return width, buckets


def deal_bucket_label(bucket: DealBucket, width: Decimal | None) -> str:
    if bucket.low is None:
        return "below 0"
    high = bucket.high if bucket.high is not None else bucket.low + (width or 0)
    return f"{_short(bucket.low)}–{_short(high)}"


def _short(value: Decimal) -> str:
    for size, suffix in ((Decimal(10) ** 9, "bn"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "k")):
        if value >= size:
            return f"{(value / size).normalize():f}{suffix}"
    return f"{value.normalize():f}"


def amount_param(value: Decimal) -> str:
    """A drill-down amount (dealMin / dealMax): digits and at most two decimals."""
    return f"{value.quantize(Decimal('0.01')).normalize():f}"


# --- breakdowns -----------------------------------------------------------------------------


def breakdown_rows(grouped: Mapping[object, Mapping[str, Number]], *, total: Number, key: str) -> list[dict]:
    """One row per group ("(none)" for empty or missing), biggest revenue first; `share` is
    the group's revenue as a % of `total`. Groups that are all one in the rollup and two in
    the raw table (NULL and "") are merged."""
    merged: dict[str, dict[str, Number]] = {}
    for group, totals in grouped.items():
        name = group if isinstance(group, str) and group else NONE_LABEL
        row = merged.setdefault(name, {"amount_sum": 0, "count": 0})
        row["amount_sum"] += totals.get("amount_sum", 0)
        row["count"] += totals.get("count", 0)
    rows = [
        {
            key: name,
            "revenue": money(t["amount_sum"]),
            "deals": t["count"],
            "share": one_decimal(percent(t["amount_sum"], total)),
            "averageDealSize": money(ratio(t["amount_sum"], t["count"])),
        }
        for name, t in merged.items()
        if t["count"]
    ]
    rows.sort(key=lambda r: (-r["revenue"], -r["deals"], r[key]))
    return rows
