"""Reads of the Campaigns tab (docs/metrics.md, "Campaigns tab"), organization-wide: campaign
messages have no region, product line, source or agent, so the dashboard filters never apply.

Counts per campaign and per variant come from the campaign rollup (trusted days) plus the
raw messages for the rest of the window, as every window total does; the send-time grid reads
the campaign hour level where a UTC hour is one local hour.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Q, Sum
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

from core.stats.rollups import local_time_totals
from core.timeranges import Window
from crm.models import Campaign, Organization
from insights.selectors import CAMPAIGNS, Filters, Grouped, Part, window_plan, window_totals

# Counts keyed by (ISO weekday 1..7, local hour 0..23).
SendTimeCounts = dict[tuple[int, int], dict[str, int]]


def campaign_counts(
    *,
    organization: Organization,
    windows: dict[str, Window],
    trusted_last_day: dt.date | None,
    hours_until: dt.datetime | None = None,
) -> dict[str, Grouped]:
    """{window name: {campaign id: {measure: count}}}: messages sent in each window (<= 3 queries)."""
    return window_totals(
        organization=organization,
        spec=CAMPAIGNS,
        parts={name: Part(window) for name, window in windows.items()},
        filters=Filters(),
        trusted_last_day=trusted_last_day,
        group_by="campaign_id",
        hours_until=hours_until,
    )


def campaigns_by_external_id(*, organization: Organization, external_ids: Iterable[str]) -> dict[str, dict]:
    """Id, name and spend of the named campaigns, in one query."""
    rows = (
        Campaign.objects.for_org(organization)
        .filter(external_id__in=list(external_ids))
        .values("id", "external_id", "name", "spend")
    )
    return {row["external_id"]: {**row, "spend": row["spend"] or Decimal(0)} for row in rows}


def existing_external_ids(*, organization: Organization, external_ids: Iterable[str]) -> set[str]:
    return set(
        Campaign.objects.for_org(organization)
        .filter(external_id__in=list(external_ids))
        .values_list("external_id", flat=True)
    )


def variant_counts(
    *, organization: Organization, window: Window, trusted_last_day: dt.date | None
) -> dict[tuple[str, str], dict[str, dict[str, int]]]:
    """{(campaign external id, name): {variant: {measure: count}}} of the messages sent in W
    that have a variant, in at most two queries (trusted rollup days + the live rest).

    window_totals groups by one column; A/B needs campaign x variant, so this reads the same
    spec (its measures, the same window plan) grouped by both.
    """
    plan = window_plan(window, tz=organization.tz, trusted_last_day=trusted_last_day)
    keys = ("campaign__external_id", "campaign__name", "variant")
    out: dict[tuple[str, str], dict[str, dict[str, int]]] = {}

    def collect(rows: Iterable[dict]) -> None:
        for row in rows:
            target = out.setdefault((row["campaign__external_id"], row["campaign__name"]), {}).setdefault(
                row["variant"], {}
            )
            for measure in CAMPAIGNS.measures:
                target[measure] = target.get(measure, 0) + (row[measure] or 0)

    if plan.rollup_days is not None:
        first, last = plan.rollup_days
        rollup = CAMPAIGNS.model.objects.for_org(organization).filter(day__gte=first, day__lte=last)
        collect(
            rollup.exclude(variant="")
            .values(*keys)
            .annotate(**{m: Sum(m) for m in CAMPAIGNS.measures})
            .order_by()
        )
    if plan.live_ranges:
        span = Q()
        for start, end in plan.live_ranges:
            span |= Q(sent_at__gte=start, sent_at__lt=end)
        live = CAMPAIGNS.raw(organization).filter(span).exclude(variant="")
        collect(
            live.values(*keys).annotate(**{m: d.build() for m, d in CAMPAIGNS.measures.items()}).order_by()
        )
    return out


def send_time_counts(
    *, organization: Organization, window: Window, hours_until: dt.datetime | None = None
) -> SendTimeCounts:
    """Messages sent in W by local ISO weekday and hour of `sent_at`: the whole hours before
    `hours_until` from the campaign hour level where a UTC hour is one local hour
    (core.stats.rollups.local_time_totals), the rest from the raw messages."""
    tz = organization.tz
    totals = local_time_totals(
        organization=organization,
        spec=CAMPAIGNS,
        window=window,
        filters=Filters(),
        groups={
            "weekday": lambda column: ExtractIsoWeekDay(column, tzinfo=tz),
            "hour_of_day": lambda column: ExtractHour(column, tzinfo=tz),
        },
        hours_until=hours_until,
    )
    return {key: {m: counts.get(m, 0) for m in CAMPAIGNS.measures} for key, counts in totals.items()}
