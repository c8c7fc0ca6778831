"""Reads of the Calls tab (docs/metrics.md, "Calls tab"): calls are activities of type `call`.

The KPIs of both windows come from window_totals over the calls rollup (trusted days) plus
the raw rest. The rollup has no hour, outcome or country, so the rest is live over W: one
query grouped by local day x local hour (the daily or hourly line and the weekday x hour
heatmap are both sums of its groups, so that scan serves both) and one grouped by outcome x
the lead's contact country. Four or five queries in all, whatever the data size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.db.models.functions import ExtractHour, TruncDate

from core.stats.rollups import local_time_totals
from core.timeranges import Window
from crm.models import Organization
from insights import selectors
from insights.selectors import CALLS, Filters, Part, Totals

# The two measures every live breakdown counts: one definition each, in the rollup spec.
COUNTED = ("calls", "successful")


@dataclass(frozen=True)
class CallTotals:
    """Additive totals (insights.selectors measures) of W and of the previous window."""

    current: Totals
    previous: Totals


def call_totals(
    *,
    organization: Organization,
    window: Window,
    previous: Window,
    filters: Filters,
    trust: tuple[dt.date | None, dt.datetime | None] | None = None,
) -> CallTotals:
    """Rollup days + live rest of both windows: the fill state (unless `trust`, from
    selectors.trust, is given), then at most three queries."""
    trusted, hours = trust if trust is not None else selectors.trust(organization)
    grouped = selectors.window_totals(
        organization=organization,
        spec=CALLS,
        parts={"current": Part(window), "previous": Part(previous)},
        filters=filters,
        trusted_last_day=trusted,
        hours_until=hours,
    )
    return CallTotals(current=grouped["current"].get(None, {}), previous=grouped["previous"].get(None, {}))


def _calls_in(organization: Organization, window: Window, filters: Filters) -> QuerySet:
    return (
        CALLS.raw(organization)
        .filter(occurred_at__gte=window.start, occurred_at__lt=window.end)
        .filter(filters.raw_q(CALLS))
    )


def _counts() -> dict:
    return {name: CALLS.measures[name].build() for name in COUNTED}


def calls_by_local_hour(
    *, organization: Organization, window: Window, filters: Filters, hours_until: dt.datetime | None = None
) -> dict[tuple[dt.date, int], dict[str, int]]:
    """{(local day, local hour 0-23): {calls, successful}} over W (at most 24 x the days of W
    groups): without filters the whole hours before `hours_until` from the calls' hour level
    where a UTC hour is one local hour (core.stats.rollups.local_time_totals), the rest live."""
    tz = organization.tz
    totals = local_time_totals(
        organization=organization,
        spec=CALLS,
        window=window,
        filters=filters,
        groups={
            "local_day": lambda column: TruncDate(column, tzinfo=tz),
            "local_hour": lambda column: ExtractHour(column, tzinfo=tz),
        },
        hours_until=hours_until,
    )
    return {key: {n: counts.get(n, 0) for n in COUNTED} for key, counts in totals.items()}


def calls_by_outcome_and_country(
    *, organization: Organization, window: Window, filters: Filters
) -> list[tuple[str, str | None, dict[str, int]]]:
    """[(outcome text, the lead's contact country or None/"" when unknown, {calls, successful})]
    over W, one query; a call without a lead or contact joins as a NULL country."""
    rows = (
        _calls_in(organization, window, filters)
        .values("outcome", "lead__contact__country")
        .annotate(**_counts())
        .order_by()
    )
    return [(row["outcome"], row["lead__contact__country"], {n: row[n] for n in COUNTED}) for row in rows]
