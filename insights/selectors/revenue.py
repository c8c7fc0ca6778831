"""Reads of the Revenue tab (docs/metrics.md, "Revenue tab"), scoped by organization.

Sums come from the sales rollup where it has them (window totals, per kind, product line,
region, and per day for the revenue line) plus the live rest; what needs single sales
(deal sizes) or leads (win rate, sales cycle) is aggregated live. A fixed number of
queries whatever the data size.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber, Trunc, TruncMonth, TruncWeek

from core.timeranges import Window as TimeWindow
from crm.models import Organization
from insights import selectors
from insights.metrics.revenue import DealBucket
from insights.selectors import LEADS, SALES, Filters, Grouped, Part

SALE_MEASURES = tuple(SALES.measures)


def _in(column: str, window: TimeWindow) -> Q:
    return Q(**{f"{column}__gte": window.start, f"{column}__lt": window.end})


def sales_totals(
    *,
    organization: Organization,
    parts: dict[str, Part],
    filters: Filters,
    trusted_last_day: dt.date | None,
    group_by: str | None = None,
    hours_until: dt.datetime | None = None,
) -> dict[str, Grouped]:
    return selectors.window_totals(
        organization=organization,
        spec=SALES,
        parts=parts,
        filters=filters,
        trusted_last_day=trusted_last_day,
        group_by=group_by,
        hours_until=hours_until,
    )


def _rollup_bucket(period: str):
    if period == "week":
        return TruncWeek("day")
    if period == "month":
        return TruncMonth("day")
    return F("day")


def _raw_bucket(period: str, tz: dt.tzinfo) -> Trunc:
    # the bucket's first local moment; "week" truncates to the ISO week's Monday
    return Trunc("closed_at", period, tzinfo=tz)


def _as_day(value: object, tz: dt.tzinfo) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(tz).date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def sales_by_bucket(
    *,
    organization: Organization,
    window: TimeWindow,
    period: str,
    filters: Filters,
    trusted_last_day: dt.date | None,
) -> dict[dt.date, dict[str, int | Decimal]]:
    """{bucket start (local day): {"amount_sum", "count"}} of the sales closed in `window`:
    trusted rollup days grouped by bucket, plus the live rest: at most two queries."""
    tz = organization.tz
    plan = selectors.window_plan(window, tz=tz, trusted_last_day=trusted_last_day)
    out: dict[dt.date, dict[str, int | Decimal]] = {}

    def add(rows, tz_of_rows) -> None:
        for row in rows:
            target = out.setdefault(_as_day(row["bucket"], tz_of_rows), {})
            for measure in SALE_MEASURES:
                target[measure] = target.get(measure, 0) + (row[measure] or 0)

    if plan.rollup_days is not None:
        first, last = plan.rollup_days
        rows = (
            SALES.model.objects.for_org(organization)
            .filter(day__gte=first, day__lte=last)
            .filter(filters.rollup_q(SALES))
            .annotate(bucket=_rollup_bucket(period))
            .values("bucket")
            .annotate(**{m: Sum(m) for m in SALE_MEASURES})
            .order_by()
        )
        add(rows, tz)
    if plan.live_ranges:
        span = Q()
        for start, end in plan.live_ranges:
            span |= Q(closed_at__gte=start, closed_at__lt=end)
        rows = (
            SALES.raw(organization)
            .filter(span)
            .filter(filters.raw_q(SALES))
            .annotate(bucket=_raw_bucket(period, tz))
            .values("bucket")
            .annotate(**{m: d.build() for m, d in SALES.measures.items()})
            .order_by()
        )
        add(rows, tz)
    return out


def _sales_in(organization: Organization, window: TimeWindow, filters: Filters):
    return SALES.raw(organization).filter(_in("closed_at", window)).filter(filters.raw_q(SALES))


def deal_size_extent(*, organization: Organization, window: TimeWindow, filters: Filters) -> dict:
    """The largest amount and whether any amount is negative (a refund), one query."""
    row = _sales_in(organization, window, filters).aggregate(
        largest=Max("amount"), negative=Count("id", filter=Q(amount__lt=0))
    )
    return {"largest": row["largest"], "has_negative": bool(row["negative"])}


def _bucket_q(bucket: DealBucket) -> Q:
    q = Q()
    if bucket.low is not None:
        q &= Q(amount__gte=bucket.low)
    if bucket.high is not None:
        q &= Q(amount__lt=bucket.high)
    return q


def deal_size_counts(
    *, organization: Organization, window: TimeWindow, filters: Filters, buckets: list[DealBucket]
) -> list[dict[str, int | Decimal]]:
    """Deals and revenue per amount bucket (low <= amount < high), one query."""
    if not buckets:
        return []
    aggregates = {}
    for i, bucket in enumerate(buckets):
        aggregates[f"n{i}"] = Count("id", filter=_bucket_q(bucket))
        aggregates[f"s{i}"] = Sum("amount", filter=_bucket_q(bucket))
    row = _sales_in(organization, window, filters).aggregate(**aggregates)
    return [{"count": row[f"n{i}"], "amount_sum": row[f"s{i}"] or Decimal(0)} for i in range(len(buckets))]


def _window_label(windows: dict[str, TimeWindow], column: str) -> Case:
    return Case(
        *[When(_in(column, w), then=Value(name)) for name, w in windows.items()],
        default=Value(""),
        output_field=CharField(),
    )


def _union(windows: dict[str, TimeWindow], column: str) -> Q:
    span = Q()
    for window in windows.values():
        span |= _in(column, window)
    return span


def win_counts(
    *, organization: Organization, windows: dict[str, TimeWindow], filters: Filters
) -> dict[str, dict[str, int]]:
    """Per window, leads created in it: won (converted_at set) and decided (converted_at or
    lost_at set), one query."""
    decided = Q(converted_at__isnull=False) | Q(lost_at__isnull=False)
    aggregates = {}
    for name, window in windows.items():
        aggregates[f"won_{name}"] = Count(
            "id", filter=_in("created_at", window) & Q(converted_at__isnull=False)
        )
        aggregates[f"decided_{name}"] = Count("id", filter=_in("created_at", window) & decided)
    row = (
        LEADS.raw(organization)
        .filter(_union(windows, "created_at"))
        .filter(filters.raw_q(LEADS))
        .aggregate(**aggregates)
    )
    return {name: {"won": row[f"won_{name}"], "decided": row[f"decided_{name}"]} for name in windows}


def cycle_middles(
    *, organization: Organization, windows: dict[str, TimeWindow], filters: Filters
) -> dict[str, dict]:
    """Per window, the leads converted in it (converted_at in the window): their count and the
    one or two middle durations created_at -> converted_at, for the median. One query on any
    database: the durations are numbered within each window by a window function and only the
    middle rows come back (row (n + 1) / 2 and (n + 2) / 2 in integer division)."""
    duration = ExpressionWrapper(F("converted_at") - F("created_at"), output_field=DurationField())
    partition = _window_label(windows, "converted_at")
    rows = (
        LEADS.raw(organization)
        .filter(_union(windows, "converted_at"))
        .filter(filters.raw_q(LEADS))
        .annotate(
            part=partition,
            duration=duration,
            position=Window(RowNumber(), partition_by=[partition], order_by=[duration.asc(), F("id").asc()]),
            size=Window(Count("id"), partition_by=[partition]),
        )
        .filter(Q(position=(F("size") + 1) / 2) | Q(position=(F("size") + 2) / 2))
        .values("part", "duration", "size")
        .order_by()
    )
    out: dict[str, dict] = {name: {"count": 0, "middle": []} for name in windows}
    for row in rows:
        entry = out[row["part"]]
        entry["count"] = row["size"]
        entry["middle"].append(row["duration"])
    for entry in out.values():
        entry["middle"].sort()
    return out
