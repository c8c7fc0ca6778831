"""Pure arithmetic of the Leads tab (docs/metrics.md, "Leads tab").

The KPI cards are the overview's leads block (insights.metrics.leads_block); this module adds
their changes against the previous window and the tab's own figures, all over the leads
created in W ("the cohort"):

- funnel: created, contacted, interested, converted = cohort leads with that milestone set
  (whenever); each stage's rate is stage / previous stage, and stage / created.
- score histogram: leads per inclusive score band of ten (90-100 holds 100), plus no score.
- sources: leads, converted, conversion rate, revenue of the cohort's sales (any closed_at),
  mean days created -> converted of the converted leads.
- velocity: median days per stage pair over the cohort leads that reached both ends.
- weekly cohorts: per local ISO week whose Monday 00:00 lies in W, its leads (the whole
  week) and the share converted within 7, 14, 28, 56 days of creation; a cell whose horizon
  has not fully elapsed at `as_of` is immature: None, never a low share.

Percentages 0-100, one decimal, None over nothing; days one decimal; money two decimals.
A change of a count or a mean is a trend (% of the previous value), the change of a rate is
in points. No ORM, no request, no clock (`as_of` is an argument).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from core.metrics import percent, ratio, trend_percent
from core.timeranges import Window, local_midnight, week_start
from insights.metrics import Number, money, one_decimal
from insights.metrics.calls import points_change
from insights.metrics.revenue import SECONDS_PER_DAY, median_days

STAGES = ("created", "contacted", "interested", "converted")
STAGE_LABELS = {
    "created": "Created",
    "contacted": "Contacted",
    "interested": "Interested",
    "converted": "Converted",
    "lost": "Lost",
}
# Inclusive bounds (the drill-down's scoreMin / scoreMax); scores are 0-100.
SCORE_BUCKETS: tuple[tuple[int, int], ...] = (*((low, low + 9) for low in range(0, 90, 10)), (90, 100))
NO_SCORE = "No score"
NONE_SOURCE = "(none)"
# Stage pairs of the velocity table, in reading order: (key, from stage, to stage).
VELOCITY_SPANS: tuple[tuple[str, str, str], ...] = (
    ("createdToContacted", "created", "contacted"),
    ("contactedToInterested", "contacted", "interested"),
    ("interestedToConverted", "interested", "converted"),
    ("createdToConverted", "created", "converted"),
)
# Cohort horizons: 1, 2, 4 and 8 weeks after each lead's creation.
HORIZONS_DAYS = (7, 14, 28, 56)
WEEK = dt.timedelta(days=7)

Counts = Mapping[str, object]


# --- KPI changes ------------------------------------------------------------------------------


def kpi_changes(
    current: Mapping[str, Number],
    previous: Mapping[str, Number],
    *,
    pipeline_now: Number,
    pipeline_before: Number,
) -> dict:
    """Each card of the overview's leads block against the previous window, from the
    unrounded totals of insights.selectors.LEADS (absent measures are 0)."""
    created, created_before = current.get("created", 0), previous.get("created", 0)
    score = ratio(current.get("score_sum", 0), current.get("score_count", 0))
    score_before = ratio(previous.get("score_sum", 0), previous.get("score_count", 0))
    return {
        "total": trend_percent(current=created, previous=created_before),
        "qualified": trend_percent(
            current=current.get("qualified", 0), previous=previous.get("qualified", 0)
        ),
        "conversionRate": points_change(
            current.get("converted", 0), created, previous.get("converted", 0), created_before
        ),
        "averageScore": trend_percent(current=score, previous=score_before),
        "pipelineValue": trend_percent(current=pipeline_now, previous=pipeline_before),
    }


# --- the cohort's counts ------------------------------------------------------------------------


def summed(groups: Iterable[Counts]) -> dict:
    """The per-source counts of the cohort added up (None durations are nothing)."""
    out: dict = {}
    for counts in groups:
        for name, value in counts.items():
            if value is None:
                continue
            out[name] = out[name] + value if name in out else value
    return out


def mean_days(total: dt.timedelta | None, count: int) -> float | None:
    """total / count in days, one decimal; None over nothing."""
    if not count or total is None:
        return None
    return one_decimal(Decimal(str(total.total_seconds())) / SECONDS_PER_DAY / count)


def funnel(totals: Counts) -> list[dict]:
    """The four stages, each with its rate from the previous stage and from created."""
    created = totals.get("created", 0)
    rows, before = [], None
    for stage in STAGES:
        leads = totals.get(stage, 0)
        rows.append(
            {
                "stage": stage,
                "label": STAGE_LABELS[stage],
                "leads": leads,
                "rateFromPrevious": None if before is None else one_decimal(percent(leads, before)),
                "rateFromCreated": one_decimal(percent(leads, created)),
            }
        )
        before = leads
    return rows


def score_histogram(totals: Counts, buckets: Sequence[tuple[int, int]] = SCORE_BUCKETS) -> list[dict]:
    """Leads per score band, then those without a score; the share is of all cohort leads."""
    created = totals.get("created", 0)
    keys = [(f"score_{i}", f"{low}–{high}", low, high) for i, (low, high) in enumerate(buckets)]
    keys.append(("score_none", NO_SCORE, None, None))
    rows = []
    for key, label, low, high in keys:
        leads, converted = totals.get(key, 0), totals.get(f"{key}_converted", 0)
        rows.append(
            {
                "label": label,
                "min": low,
                "max": high,
                "leads": leads,
                "share": one_decimal(percent(leads, created)),
                "converted": converted,
                "conversionRate": one_decimal(percent(converted, leads)),
            }
        )
    return rows


def _source_row(name: str, counts: Counts, revenue: Mapping[str, Number]) -> dict:
    leads, converted = counts.get("created", 0), counts.get("converted", 0)
    return {
        "source": name,
        "leads": leads,
        "converted": converted,
        "conversionRate": one_decimal(percent(converted, leads)),
        "revenue": money(revenue.get("amount_sum", 0)),
        "sales": revenue.get("count", 0),
        "averageDaysToConvert": mean_days(counts.get("convert_time"), converted),
    }


def source_rows(
    groups: Mapping[str, Counts], revenue: Mapping[str, Mapping[str, Number]]
) -> tuple[list[dict], dict]:
    """One row per source ("(none)" when empty), most leads first then by name, and the
    all-sources row. Revenue groups without leads cannot happen (the sales are the leads')."""
    rows = [
        _source_row(name or NONE_SOURCE, counts, revenue.get(name, {}))
        for name, counts in groups.items()
        if counts.get("created", 0)
    ]
    rows.sort(key=lambda r: (-r["leads"], r["source"]))
    total_revenue = {
        "amount_sum": sum((r.get("amount_sum", 0) for r in revenue.values()), Decimal(0)),
        "count": sum(r.get("count", 0) for r in revenue.values()),
    }
    return rows, _source_row("All sources", summed(groups.values()), total_revenue)


def velocity(middles: Mapping[str, Mapping]) -> list[dict]:
    """Median days per stage pair (one decimal; None when no lead reached both ends)."""
    return [
        {
            "key": key,
            "from": start,
            "to": end,
            "label": f"{STAGE_LABELS[start]} → {STAGE_LABELS[end]}",
            "leads": middles[key]["count"],
            "medianDays": one_decimal(median_days(middles[key]["middle"])),
        }
        for key, start, end in VELOCITY_SPANS
    ]


# --- weekly cohorts ---------------------------------------------------------------------------


def cohort_mondays(window: Window, tz: dt.tzinfo) -> list[dt.date]:
    """The local Mondays whose 00:00 lies in W, in order: a week W starts inside is left out
    (its earlier days are outside W), the last one may run past W's end."""
    first = week_start(window.start.astimezone(tz).date())
    if local_midnight(first, tz) < window.start:
        first += WEEK
    mondays = []
    while local_midnight(first, tz) < window.end:
        mondays.append(first)
        first += WEEK
    return mondays


def cohort_span(mondays: Sequence[dt.date], tz: dt.tzinfo) -> Window | None:
    """From the first Monday 00:00 to the Monday after the last one, local."""
    if not mondays:
        return None
    return Window(start=local_midnight(mondays[0], tz), end=local_midnight(mondays[-1] + WEEK, tz))


def cohort_rows(
    mondays: Sequence[dt.date],
    counts: Mapping[dt.date, Counts],
    *,
    tz: dt.tzinfo,
    as_of: dt.datetime,
    horizons_days: Sequence[int] = HORIZONS_DAYS,
) -> list[dict]:
    """One row per week, oldest first. A cell is mature when `days` have passed since the
    week's end (so since every one of its leads was created): as_of >= next Monday 00:00 +
    days x 24 h; an immature cell has `converted` and `share` None."""
    rows = []
    for monday in mondays:
        week = counts.get(monday, {})
        created = week.get("created", 0)
        week_end = local_midnight(monday + WEEK, tz)
        cells = []
        for days in horizons_days:
            mature = as_of >= week_end + dt.timedelta(days=days)
            converted = week.get(f"within_{days}", 0) if mature else None
            cells.append(
                {
                    "days": days,
                    "mature": mature,
                    "converted": converted,
                    "share": one_decimal(percent(converted, created)) if mature else None,
                }
            )
        rows.append(
            {
                "week": monday.isoformat(),
                "label": f"{monday.day} {monday:%b %Y}",
                "leads": created,
                "complete": as_of >= week_end,
                "cells": cells,
            }
        )
    return rows
