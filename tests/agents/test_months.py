"""The agent x month level: month rows are the sums of the daily rows, a window over 90 days
reads its whole trusted months there (and only those), and a rebuild of any day of a month
rewrites the month.

Organization A is in Africa/Nairobi (UTC+3). At AS_OF (22 Nov 2026 12:00 UTC) the 1y window
is [22 Nov 2025 12:00, 22 Nov 2026 12:00) UTC: its trusted local days after a refresh are
23 Nov 2025 .. 21 Nov 2026, read as the days 23-30 Nov 2025 and 1-21 Nov 2026 from the daily
rows and the whole months December 2025 .. October 2026 from the month rows.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents import selectors
from agents.models import AgentMonthlyMetrics
from agents.services import agent_daily_metrics_rebuild
from core.stats.refresh import statistics_mark_stale, statistics_refresh
from core.timeranges import parse_range
from crm.events import Ingested
from tests.agents.factories import AS_OF, at, build_history
from tests.factories import SaleFactory

pytestmark = pytest.mark.django_db

MONTH_TABLE = AgentMonthlyMetrics._meta.db_table


@pytest.fixture
def history(org_a, agent_a):
    cache.clear()
    bea, leads, sales = build_history(org_a, agent_a)
    # two more sales in whole months of the year: one in KES, one in USD (counted, not summed)
    SaleFactory(
        organization=org_a, agent=agent_a, currency="KES", amount=Decimal("1234.00"), closed_at=at(8, 15, 9)
    )
    SaleFactory(
        organization=org_a, agent=agent_a, currency="USD", amount=Decimal("900.00"), closed_at=at(3, 3, 9)
    )
    statistics_refresh(organization=org_a, family="agents", as_of=AS_OF)
    return bea


def month_rows(org, agent) -> list[tuple]:
    return list(
        AgentMonthlyMetrics.objects.for_org(org)
        .filter(agent=agent)
        .order_by("day")
        .values_list(
            "day",
            "leads_assigned",
            "leads_contacted",
            "leads_interested",
            "leads_converted",
            "revenue",
            "sales_count",
            "excluded_sales",
            "response_microseconds",
            "response_count",
            "satisfaction_sum",
            "satisfaction_count",
        )
    )


def year_totals(org, agent):
    window = parse_range("1y", as_of=AS_OF)
    state = selectors.fill_state(org)
    with CaptureQueriesContext(connection) as ctx:
        totals = selectors.agent_window_totals(organization=org, window=window, state=state)
    return totals[agent.pk], [q["sql"] for q in ctx.captured_queries]


def test_month_rows_sum_the_agents_days(history, org_a, agent_a):
    assert month_rows(org_a, agent_a) == [
        # 3 Mar: the USD sale, counted only
        (dt.date(2026, 3, 1), 0, 0, 0, 0, Decimal("0.00"), 0, 1, 0, 0, 0, 0),
        (dt.date(2026, 8, 1), 0, 0, 0, 0, Decimal("1234.00"), 1, 0, 0, 0, 0, 0),
        # S4 700.25 + S5 99.00 = 799.25 (S6 on 31 Oct 22:00 UTC is 1 Nov local)
        (dt.date(2026, 10, 1), 0, 0, 0, 0, Decimal("799.25"), 2, 0, 0, 0, 0, 0),
        # local days 1-21 Nov (yesterday): leads L1-L6 (L7 is today); contacted L1 L2 L4 L5,
        # interested L1 L2, converted L1 L5; responses L1 2 h + L2 4 h + L5 3 h = 9 h =
        # 32,400,000,000 us (L4 was never assigned); ratings 5 + 3 + 4; sales S1 1000 +
        # S3 500 + S6 10 = 1510 (S2 is today)
        (dt.date(2026, 11, 1), 6, 4, 2, 2, Decimal("1510.00"), 3, 0, 32_400_000_000, 3, 12, 3),
    ]


def test_a_year_reads_whole_months_from_the_month_rows(history, org_a, agent_a):
    mine, queries = year_totals(org_a, agent_a)
    # leads L1-L7; revenue 1234 + 799.25 + 1510 + S2 250.50 (today, live) = 3793.75 from
    # 1 + 2 + 3 + 1 = 7 sales in KES, and the USD one excluded
    assert (mine.assigned, mine.revenue, mine.sales_count, mine.excluded_sales) == (
        7,
        Decimal("3793.75"),
        7,
        1,
    )
    assert mine.response_microseconds == 32_400_000_000 + 3_600_000_000  # + L7's hour, live
    # daily rows, month rows, live leads, live sales
    assert len(queries) == 4
    assert sum(MONTH_TABLE in sql for sql in queries) == 1
    # a 30-day window stays on the daily rows
    window = parse_range("30d", as_of=AS_OF)
    state = selectors.fill_state(org_a)
    with CaptureQueriesContext(connection) as ctx:
        selectors.agent_window_totals(organization=org_a, window=window, state=state)
    assert not any(MONTH_TABLE in q["sql"] for q in ctx.captured_queries)


def test_a_month_row_is_read_only_while_its_month_is_trusted(history, org_a, agent_a):
    # given October's month row off by 1,000
    AgentMonthlyMetrics.objects.filter(agent=agent_a, day=dt.date(2026, 10, 1)).update(
        revenue=Decimal("1799.25")
    )
    # then the year reads it (the check above could fail)
    assert year_totals(org_a, agent_a)[0].revenue == Decimal("4793.75")
    # when a day of October is marked stale, October is answered from its trusted days and live
    moment = at(10, 20, 9)
    statistics_mark_stale(Ingested(org_a.pk, "sales", moment, moment, 1))
    assert year_totals(org_a, agent_a)[0].revenue == Decimal("3793.75")
    # and the rebuild of any day of October rewrites the whole month from the daily rows
    agent_daily_metrics_rebuild(
        organization=org_a, first_day=dt.date(2026, 10, 20), last_day=dt.date(2026, 10, 20)
    )
    assert month_rows(org_a, agent_a)[2][5] == Decimal("799.25")


def test_the_year_equals_the_raw_tables(history, org_a, agent_a):
    window = parse_range("1y", as_of=AS_OF)
    for agent in (agent_a, history):
        rolled = selectors.agent_window_totals(
            organization=org_a, window=window, state=selectors.fill_state(org_a), agent_id=agent.pk
        )[agent.pk]
        assert rolled == selectors.raw_window_totals(organization=org_a, window=window, agent_id=agent.pk)
