"""Reads of the Leads tab (docs/metrics.md, "Leads tab"), scoped by organization.

The KPI cards are the overview's leads block (window_totals over the leads rollup plus the
live rest, and pipeline_values): their reads live in insights.selectors. What the rollup
cannot answer (the contacted stage, score buckets, sources with times to convert, revenue of
the leads, stage durations, weekly cohorts) is aggregated live over the leads created in W:
one query each, whatever the data size, every one grouped or windowed in the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber, Trunc

from core.timeranges import Window as TimeWindow
from crm.models import Organization
from insights import selectors
from insights.selectors import LEADS, SALES, Filters, Part, Totals

# Stage -> the milestone column whose being set means the lead reached it (insights.selectors
# .records.STAGES for the drill-down is the same map; a test keeps them equal).
STAGE_FIELDS = {
    "contacted": "contacted_at",
    "interested": "interested_at",
    "converted": "converted_at",
    "lost": "lost_at",
}
DURATION = DurationField()

ScoreBucket = tuple[int, int]  # inclusive score bounds, as the drill-down's scoreMin / scoreMax


@dataclass(frozen=True)
class LeadTotals:
    """The overview's leads inputs for W and the previous window: the additive totals of
    insights.selectors.LEADS and the pipeline value at each window's end."""

    current: Totals
    previous: Totals
    pipeline_now: Decimal
    pipeline_before: Decimal


def kpi_totals(
    *, organization: Organization, window: TimeWindow, previous: TimeWindow, filters: Filters
) -> LeadTotals:
    """The same reads as the overview's leads block: the fill state, rollup days + live rest
    of both windows (at most two queries), the pipeline at both ends (at most four)."""
    trusted, hours = selectors.trust(organization)
    grouped = selectors.window_totals(
        organization=organization,
        spec=LEADS,
        parts={"current": Part(window), "previous": Part(previous)},
        filters=filters,
        trusted_last_day=trusted,
        hours_until=hours,
    )
    pipeline = selectors.pipeline_values(
        organization=organization,
        filters=filters,
        moments={"current": window.end, "previous": previous.end},
        trusted_last_day=trusted,
        hours_until=hours,
    )
    return LeadTotals(
        current=grouped["current"].get(None, {}),
        previous=grouped["previous"].get(None, {}),
        pipeline_now=pipeline["current"],
        pipeline_before=pipeline["previous"],
    )


def leads_created_in(*, organization: Organization, window: TimeWindow, filters: Filters) -> QuerySet:
    """The leads the tab is about: created in W (DESIGN section 6), filtered."""
    return (
        LEADS.raw(organization)
        .filter(created_at__gte=window.start, created_at__lt=window.end)
        .filter(filters.raw_q(LEADS))
    )


def converted_within(days: int) -> Q:
    """Converted less than `days` x 24 hours after creation (a cohort horizon)."""
    return Q(converted_at__isnull=False, converted_at__lt=F("created_at") + dt.timedelta(days=days))


def reached(stage: str) -> Q:
    return Q(**{f"{STAGE_FIELDS[stage]}__isnull": False})


def _span(start: str, end: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DURATION)


def _score_in(bucket: ScoreBucket | None) -> Q:
    if bucket is None:
        return Q(score__isnull=True)
    return Q(score__gte=bucket[0], score__lte=bucket[1])


def counts_by_source(
    *, organization: Organization, window: TimeWindow, filters: Filters, buckets: Sequence[ScoreBucket]
) -> dict[str, dict]:
    """{source ("" when empty): counts} over the leads created in W, one query.

    Counts per group: `created`, one per stage (the milestone set, whenever), `convert_time`
    (sum of converted_at - created_at over the converted leads, a timedelta or None), and per
    score bucket i `score_i` / `score_i_converted` (`score_none*` for leads without a score).
    The whole-window figures are sums over the groups (as many as the sources, not the leads).
    """
    aggregates: dict = {"created": Count("id")}
    for stage in STAGE_FIELDS:
        aggregates[stage] = Count("id", filter=reached(stage))
    aggregates["convert_time"] = Sum(_span("created_at", "converted_at"), filter=reached("converted"))
    for key, bucket in [*((f"score_{i}", b) for i, b in enumerate(buckets)), ("score_none", None)]:
        aggregates[key] = Count("id", filter=_score_in(bucket))
        aggregates[f"{key}_converted"] = Count("id", filter=_score_in(bucket) & reached("converted"))
    rows = (
        leads_created_in(organization=organization, window=window, filters=filters)
        .values("source")
        .annotate(**aggregates)
        .order_by()
    )
    return {row.pop("source") or "": row for row in rows}


def cohort_sales(*, organization: Organization, window: TimeWindow, filters: Filters) -> QuerySet:
    """The sales of the leads created in W, closed at any time (the revenue of the sources
    table and its drill-down, records/sales?leadCreated=1). The filters are the leads' own
    (the lead's agent, product line...), so the sales are exactly those of the counted leads;
    the currency rule is the revenue's (insights.selectors.SALES)."""
    leads = leads_created_in(organization=organization, window=window, filters=filters)
    return SALES.raw(organization).filter(lead__in=leads.values("id"))


def revenue_by_source(
    *, organization: Organization, window: TimeWindow, filters: Filters
) -> dict[str, dict[str, Decimal | int]]:
    """{source of the lead: {"amount_sum", "count"}} of cohort_sales, one query."""
    rows = (
        cohort_sales(organization=organization, window=window, filters=filters)
        .values("lead__source")
        .annotate(amount_sum=Sum("amount"), count=Count("id"))
        .order_by()
    )
    out: dict[str, dict[str, Decimal | int]] = {}
    for row in rows:
        # "" and NULL are one group: a lead's source is never NULL, but be exact anyway.
        target = out.setdefault(row["lead__source"] or "", {"amount_sum": Decimal(0), "count": 0})
        target["amount_sum"] += row["amount_sum"] or 0
        target["count"] += row["count"]
    return out


def stage_duration_middles(
    *,
    organization: Organization,
    window: TimeWindow,
    filters: Filters,
    spans: Mapping[str, tuple[str, str]],
) -> dict[str, dict]:
    """Per span (name -> (start column, end column)), over the leads created in W with both
    columns set: their count and the one or two middle durations end - start, for the median.

    One query on SQLite and PostgreSQL: per span, the durations are numbered by a window
    function with the leads missing an end sorted last (their duration is NULL), and counted
    by COUNT(duration) over the whole set, which skips those NULLs; only the rows sitting at a
    middle position ((n + 1) / 2 and (n + 2) / 2 in integer division) of some span come back:
    at most two per span.
    """
    annotations, middle = {}, Q()
    for index, (start, end) in enumerate(spans.values()):
        duration = _span(start, end)
        annotations[f"d{index}"] = duration
        annotations[f"p{index}"] = Window(
            RowNumber(), order_by=[duration.asc(nulls_last=True), F("id").asc()]
        )
        annotations[f"n{index}"] = Window(Count(duration))
        middle |= Q(**{f"p{index}": (F(f"n{index}") + 1) / 2}) | Q(**{f"p{index}": (F(f"n{index}") + 2) / 2})
    columns = [name for index in range(len(spans)) for name in (f"d{index}", f"p{index}", f"n{index}")]
    rows = (
        leads_created_in(organization=organization, window=window, filters=filters)
        .annotate(**annotations)
        .filter(middle)
        .values(*columns)
        .order_by()
    )
    out: dict[str, dict] = {name: {"count": 0, "middle": []} for name in spans}
    for row in rows:
        for index, name in enumerate(spans):
            size, position = row[f"n{index}"], row[f"p{index}"]
            out[name]["count"] = size
            # A row may be a middle of one span and not of another (or lack that span).
            if size and position in {(size + 1) // 2, (size + 2) // 2}:
                out[name]["middle"].append(row[f"d{index}"])
    for entry in out.values():
        entry["middle"].sort()
    return out


def _as_day(value: object, tz: dt.tzinfo) -> dt.date:
    # Trunc comes back as an aware datetime (PostgreSQL, SQLite with USE_TZ) or a date.
    if isinstance(value, dt.datetime):
        return value.astimezone(tz).date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def weekly_cohorts(
    *, organization: Organization, weeks: TimeWindow, filters: Filters, horizons_days: Sequence[int]
) -> dict[dt.date, dict[str, int]]:
    """{local Monday: {"created", "within_<days>"...}} of the leads created in `weeks` (local
    Monday 00:00 to Monday 00:00), grouped by local ISO week, one query."""
    tz = organization.tz
    rows = (
        leads_created_in(organization=organization, window=weeks, filters=filters)
        .annotate(week=Trunc("created_at", "week", tzinfo=tz))
        .values("week")
        .annotate(
            created=Count("id"),
            **{f"within_{days}": Count("id", filter=converted_within(days)) for days in horizons_days},
        )
        .order_by()
    )
    return {_as_day(row.pop("week"), tz): row for row in rows}
