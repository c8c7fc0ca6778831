"""Writes of the performance series: the rebuild of the statistics engine's "performance"
family (insights/statistics.py; docs/metrics.md, "Performance metrics").

`performance_metrics_rebuild` rewrites, for the organization and for every agent, each day,
ISO week and month that holds a day of the span, whole, in one transaction: running it
twice, or after a crash halfway, leaves the same rows. The engine decides which spans are
stale (core.stats.refresh), so a nightly run rewrites only the last days' periods.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q

from core.timeranges import local_midnight
from crm.models import Organization
from insights.bi.models import PerformanceMetric
from insights.bi.performance import definitions, selectors
from insights.bi.performance.definitions import AGENT, EMPTY, ORGANIZATION, PERIODS, PeriodTotals

BULK_BATCH_SIZE = 2000


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
    counted_to: dt.datetime,
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
                        # the moment the figures count up to: a period ending after it is
                        # partial, and a re-run writes identical rows
                        computed_at=counted_to,
                    )
                )
    return rows


def _rebuilt_starts(
    *, period: str, first_day: dt.date, last_day: dt.date, horizon: dt.date
) -> tuple[dt.date, dt.date]:
    """The first and last period starts a rebuild of [first_day, last_day] rewrites: every
    period holding a day of the span, and the one after it when it has begun by `horizon`
    (its lead velocity compares it with the last one)."""
    first = definitions.period_start(first_day, period)
    last = definitions.period_start(last_day, period)
    following = definitions.next_period_start(last, period)
    return first, (following if following <= horizon else last)


def performance_metrics_rebuild(*, organization: Organization, first_day: dt.date, last_day: dt.date) -> int:
    """Rewrite every period of each kind that holds a local day of [first_day, last_day]
    (the family's rebuild); returns the rows written.

    A period is recomputed whole, counted up to the end of the series' horizon: the later
    of `last_day` and the day the family is filled through. The engine always rebuilds up
    to yesterday, so the current week and month count up to the end of yesterday and are
    marked partial by `computed_at` (that moment) until a later rebuild completes them.
    """
    if first_day > last_day:
        raise ValueError("first_day must be on or before last_day")
    tz = organization.tz
    state = selectors.fill_state(organization)
    horizon = last_day
    if state is not None and state.filled_through is not None:
        horizon = max(horizon, state.filled_through)
    counted_to = local_midnight(horizon + dt.timedelta(days=1), tz)
    trusted = selectors.trusted_days(organization=organization)
    replaced, new_rows = Q(), []
    for period in PERIODS:
        first, last = _rebuilt_starts(period=period, first_day=first_day, last_day=last_day, horizon=horizon)
        # from the period before the first: the lead velocity of the first period needs it
        totals = selectors.period_totals(
            organization=organization,
            period=period,
            first_start=definitions.previous_period_start(first, period),
            end=min(counted_to, local_midnight(definitions.next_period_start(last, period), tz)),
            trusted=trusted,
        )
        new_rows += _rows(
            organization=organization,
            period=period,
            first=first,
            last=last,
            totals=totals,
            counted_to=counted_to,
        )
        replaced |= Q(period=period, period_start__gte=first, period_start__lte=last)
    with transaction.atomic():
        PerformanceMetric.objects.for_org(organization).filter(replaced).delete()
        PerformanceMetric.objects.bulk_create(new_rows, batch_size=BULK_BATCH_SIZE)
    return len(new_rows)
