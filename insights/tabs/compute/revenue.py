"""What the Revenue tab computes (docs/metrics.md, "Revenue tab"): revenue KPIs with their
changes, the revenue line per day / week / month with a straight-line forecast, deal sizes,
and revenue by kind, product line and region."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from core.metrics import decimal, percent, trend_percent
from core.timeranges import Window, local_midnight
from crm.models import Organization, SaleKind
from insights import analytics, metrics, selectors
from insights.forecast import DEFAULT_CONFIDENCE, MIN_POINTS, linear_forecast
from insights.metrics import revenue as calc
from insights.selectors import Filters, Part
from insights.selectors import revenue as reads
from insights.tabs import DashboardQuery
from insights.tabs.compute import KpiComparison

ONE_DAY = dt.timedelta(days=1)
PERIOD_NOUNS = {"day": "day", "week": "week", "month": "month"}
# The columns the revenue is broken down by: payload key -> (rollup column, row name field).
BREAKDOWN_COLUMNS = {
    "kinds": ("kind", "kind"),
    "productLines": ("product_line", "productLine"),
    "regions": ("region", "region"),
}


@dataclass(frozen=True)
class RevenueTab:
    kpis: KpiComparison
    period: str
    series: list[dict]
    forecast: dict
    deal_sizes: dict
    # payload key of BREAKDOWN_COLUMNS -> its rows, biggest revenue first
    breakdowns: dict[str, list[dict]]


def period_of(query: DashboardQuery) -> str:
    return query.extra.get("period") or calc.default_period(query.window.length / ONE_DAY)


def last_30_days(window: Window) -> Window:
    """The span of monthlyRecurring, as the overview's revenue block."""
    return Window(start=max(window.start, window.end - analytics.RECURRING_SPAN), end=window.end)


def _local_days(window: Window, tz: dt.tzinfo) -> tuple[dt.date, dt.date]:
    """The first and last local days W touches (W is half-open)."""
    last = (window.end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    return window.start.astimezone(tz).date(), last


def revenue_kpis(
    *,
    organization: Organization,
    window: Window,
    filters: Filters,
    trusted: dt.date | None,
    hours_until: dt.datetime | None = None,
) -> KpiComparison:
    """The revenue KPIs of W and of the previous window, unrounded, and their changes (also
    the catalogue's compute of the `revenue.*` figures the tab shows). `trusted` is the last
    rollup day to trust (insights.selectors.trusted_through)."""
    previous = window.previous()
    recurring = Q(kind=SaleKind.RECURRING)
    totals = reads.sales_totals(
        organization=organization,
        parts={
            "current": Part(window),
            "previous": Part(previous),
            "current_mrr": Part(last_30_days(window), recurring),
            "previous_mrr": Part(last_30_days(previous), recurring),
            "current_one_time": Part(window, ~recurring),
            "previous_one_time": Part(previous, ~recurring),
        },
        filters=filters,
        trusted_last_day=trusted,
        hours_until=hours_until,
    )
    t = {name: grouped.get(None, {}) for name, grouped in totals.items()}
    windows = {"current": window, "previous": previous}
    wins = reads.win_counts(organization=organization, windows=windows, filters=filters)
    cycles = reads.cycle_middles(organization=organization, windows=windows, filters=filters)
    blocks = {}
    for name in windows:
        block = metrics.revenue_block(
            t[name],
            recurring_last_30d=t[f"{name}_mrr"].get("amount_sum", 0),
            previous_total=t["previous"].get("amount_sum", 0),
            exact=True,
        )
        won, decided = wins[name]["won"], wins[name]["decided"]
        block.update(
            oneTime=decimal(t[f"{name}_one_time"].get("amount_sum", 0)),
            winRate=percent(won, decided),
            won=won,
            decided=decided,
            salesCycleDays=calc.median_days(cycles[name]["middle"]),
            convertedLeads=cycles[name]["count"],
        )
        blocks[name] = block
    # The growth rate is itself the change of the total: the previous window has none.
    del blocks["previous"]["growthRate"]
    current, before = blocks["current"], blocks["previous"]
    changes = {
        key: trend_percent(current=current[key], previous=before[key])
        for key in ("total", "monthlyRecurring", "oneTime", "deals", "averageDealSize", "salesCycleDays")
    }
    # A rate's change is in points, as everywhere on the dashboard, never a percent of a percent.
    changes["winRate"] = calc.win_rate_change(
        won=current["won"],
        decided=current["decided"],
        won_before=before["won"],
        decided_before=before["decided"],
    )
    return KpiComparison(current=current, previous=before, changes=changes)


def _series(query: DashboardQuery, period: str, trusted: dt.date | None) -> tuple[list[dict], dict]:
    tz, window = query.organization.tz, query.window
    by_bucket = reads.sales_by_bucket(
        organization=query.organization,
        window=window,
        period=period,
        filters=query.filters,
        trusted_last_day=trusted,
    )
    first_day, last_day = _local_days(window, tz)
    starts = calc.bucket_starts(first_day, last_day, period)
    horizon = calc.FORECAST_HORIZON[period]
    ahead = calc.following_buckets(starts[-1], period, horizon)
    labels = calc.bucket_labels([*starts, *ahead], period)
    series, fit_x, fit_y = [], [], []
    for index, (start, label) in enumerate(zip(starts, labels[: len(starts)], strict=True)):
        end = calc.bucket_last_day(start, period)
        # A bucket cut by the window's edge (a named range starts and ends mid-day) holds
        # only part of its time: it is neither fitted nor linked (a from/to link lists whole days).
        bucket_end = local_midnight(end + ONE_DAY, tz)
        complete = local_midnight(start, tz) >= window.start and bucket_end <= window.end
        totals = by_bucket.get(start, {})
        amount = totals.get("amount_sum", Decimal(0))
        series.append(
            {
                "bucket": start.isoformat(),
                "label": label,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "complete": complete,
                "revenue": metrics.money(amount),
                "deals": totals.get("count", 0),
            }
        )
        # A custom range may end after now: its buckets still to come (today included) hold
        # only the sales so far, and fitting them would bend the trend down.
        if complete and bucket_end <= query.as_of:
            fit_x.append(index)
            fit_y.append(amount)
    forecast = {
        "available": False,
        "reason": None,
        "method": "linear least squares",
        "confidence": DEFAULT_CONFIDENCE * 100,
        "horizon": horizon,
        "fittedBuckets": len(fit_x),
        "slope": None,
        "points": [],
    }
    if len(fit_x) < MIN_POINTS:
        noun = PERIOD_NOUNS[period]
        forecast["reason"] = (
            f"A forecast needs at least {MIN_POINTS} complete {noun}s in the period; "
            f"this one has {len(fit_x)}. Choose a longer range or shorter buckets."
        )
        return series, forecast
    fit = linear_forecast(fit_x, fit_y, at=range(len(starts), len(starts) + horizon))
    forecast.update(available=True, slope=metrics.money(fit.slope))
    for start, label, prediction in zip(ahead, labels[len(starts) :], fit.predictions, strict=True):
        # Revenue is not negative: the line and its interval are floored at zero.
        forecast["points"].append(
            {
                "bucket": start.isoformat(),
                "label": label,
                "from": start.isoformat(),
                "to": calc.bucket_last_day(start, period).isoformat(),
                "forecast": metrics.money(max(prediction.value, 0.0)),
                "lower": metrics.money(max(prediction.lower, 0.0)),
                "upper": metrics.money(max(prediction.upper, 0.0)),
            }
        )
    return series, forecast


def _deal_sizes(query: DashboardQuery) -> dict:
    extent = reads.deal_size_extent(
        organization=query.organization, window=query.window, filters=query.filters
    )
    width, buckets = calc.deal_size_buckets(largest=extent["largest"], has_negative=extent["has_negative"])
    counts = reads.deal_size_counts(
        organization=query.organization, window=query.window, filters=query.filters, buckets=buckets
    )
    return {
        "width": metrics.money(width),
        "buckets": [
            {
                "label": calc.deal_bucket_label(b, width),
                "min": metrics.money(b.low),
                "max": metrics.money(b.high),
                "deals": c["count"],
                "revenue": metrics.money(c["amount_sum"]),
            }
            for b, c in zip(buckets, counts, strict=True)
        ],
    }


def revenue_tab(query: DashboardQuery) -> RevenueTab:
    organization, window = query.organization, query.window
    period = period_of(query)
    trusted, hours = selectors.trust(organization)
    kpis = revenue_kpis(
        organization=organization, window=window, filters=query.filters, trusted=trusted, hours_until=hours
    )
    series, forecast = _series(query, period, trusted)
    breakdowns = {}
    for key, (column, row_key) in BREAKDOWN_COLUMNS.items():
        grouped = reads.sales_totals(
            organization=organization,
            parts={"current": Part(window)},
            filters=query.filters,
            trusted_last_day=trusted,
            group_by=column,
            hours_until=hours,
        )
        breakdowns[key] = calc.breakdown_rows(grouped["current"], total=kpis.current["total"], key=row_key)
    for row in breakdowns["kinds"]:
        row["label"] = SaleKind(row["kind"]).label if row["kind"] in SaleKind.values else row["kind"]
    return RevenueTab(
        kpis=kpis,
        period=period,
        series=series,
        forecast=forecast,
        deal_sizes=_deal_sizes(query),
        breakdowns=breakdowns,
    )
