"""Writes of the performance series: the nightly rebuild (docs/metrics.md, "Performance metrics").

`performance_metrics_refresh` recomputes, for the organization and for every agent, each
day, ISO week and month that covers the last `days` local days up to `as_of` (the current
one of each kind counts up to `as_of` and is marked partial by `computed_at` = `as_of`),
and replaces those periods' rows in one transaction: running it twice, or after a crash
halfway, leaves the same rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from crm.models import Organization
from insights.bi.models import PerformanceMetric
from insights.bi.performance import definitions, selectors
from insights.bi.performance.definitions import AGENT, EMPTY, ORGANIZATION, PERIODS, PeriodTotals

logger = logging.getLogger(__name__)

DEFAULT_DAYS = 400
BULK_BATCH_SIZE = 2000


@dataclass(frozen=True)
class PeriodRange:
    period: str
    first: dt.date  # the first period start rebuilt
    last: dt.date  # the current period's start (partial: counted up to as_of)


@dataclass(frozen=True)
class PerformanceRefreshReport:
    organization_id: int
    as_of: dt.datetime
    ranges: tuple[PeriodRange, ...]
    rows: int  # rows written
    deleted: int  # rows replaced
    ms: int


def _agents_of(totals: selectors.SeriesTotals, start: dt.date, previous: dt.date) -> list[int]:
    """Agents with something to measure in the period: data in it, or handled leads in the
    previous period (their lead velocity is then -100%)."""
    ids = set(totals.agents.get(start, {}))
    ids |= {agent_id for agent_id, t in totals.agents.get(previous, {}).items() if t.handled}
    return sorted(ids)


def _subjects(
    totals: selectors.SeriesTotals, start: dt.date, previous: dt.date
) -> list[tuple[str, int | None, PeriodTotals, PeriodTotals]]:
    """(scope, agent id, totals of the period, totals of the period before) of every row
    group of one period: the organization always (an empty period is null, not missing),
    then each agent with something to measure."""
    subjects = [
        (ORGANIZATION, None, totals.organization.get(start, EMPTY), totals.organization.get(previous, EMPTY))
    ]
    for agent_id in _agents_of(totals, start, previous):
        current = totals.agents.get(start, {}).get(agent_id, EMPTY)
        before = totals.agents.get(previous, {}).get(agent_id, EMPTY)
        subjects.append((AGENT, agent_id, current, before))
    return subjects


def _rows(
    *,
    organization: Organization,
    period: str,
    first: dt.date,
    last: dt.date,
    totals: selectors.SeriesTotals,
    as_of: dt.datetime,
) -> list[PerformanceMetric]:
    rows = []
    for start in definitions.period_starts(first, last, period):
        previous = definitions.previous_period_start(start, period)
        for scope, agent_id, current, before in _subjects(totals, start, previous):
            for value in definitions.period_values(scope=scope, current=current, previous=before):
                rows.append(
                    PerformanceMetric(
                        organization=organization,
                        agent_id=agent_id,
                        metric=value.metric,
                        period=period,
                        period_start=start,
                        value=value.value,
                        numerator=value.numerator,
                        denominator=value.denominator,
                        # the reference time: a period ending after it is partial, and a
                        # re-run with the same as_of writes identical rows
                        computed_at=as_of,
                    )
                )
    return rows


def performance_metrics_refresh(
    *, organization: Organization, as_of: dt.datetime, days: int = DEFAULT_DAYS
) -> PerformanceRefreshReport:
    """Rebuild every period of each kind covering the last `days` local days up to `as_of`."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be an aware datetime")
    if days < 1:
        raise ValueError("days must be at least 1")
    started = time.monotonic()
    tz = organization.tz
    today = as_of.astimezone(tz).date()
    first_day = today - dt.timedelta(days=days - 1)
    trusted = selectors.trusted_days(organization=organization)
    ranges, new_rows = [], []
    for period in PERIODS:
        first = definitions.period_start(first_day, period)
        last = definitions.period_start(today, period)
        ranges.append(PeriodRange(period=period, first=first, last=last))
        # from the period before the first: the lead velocity of the first period needs it
        totals = selectors.period_totals(
            organization=organization,
            period=period,
            first_start=definitions.previous_period_start(first, period),
            end=as_of,
            trusted=trusted,
        )
        new_rows += _rows(
            organization=organization, period=period, first=first, last=last, totals=totals, as_of=as_of
        )
    replaced = Q()
    for r in ranges:
        replaced |= Q(period=r.period, period_start__gte=r.first, period_start__lte=r.last)
    with transaction.atomic():
        deleted, _ = PerformanceMetric.objects.for_org(organization).filter(replaced).delete()
        PerformanceMetric.objects.bulk_create(new_rows, batch_size=BULK_BATCH_SIZE)
    ms = int((time.monotonic() - started) * 1000)
    logger.info(
        "rollup organization=%s statistic=performance_metrics first=%s last=%s rows=%d ms=%d",
        organization.pk,
        min(r.first for r in ranges),
        today,
        len(new_rows),
        ms,
    )
    return PerformanceRefreshReport(
        organization_id=organization.pk,
        as_of=as_of,
        ranges=tuple(ranges),
        rows=len(new_rows),
        deleted=deleted,
        ms=ms,
    )
