"""The Revenue tab (insights.tabs.revenue) on a small hand-built history.

Organization A is in Africa/Nairobi (UTC+3, no DST), currency KES. AS_OF = Sun 15 Mar 2026
12:00 UTC (15:00 local). 7d: W = [8 Mar 12:00, 15 Mar 12:00) UTC = [8 Mar 15:00, 15 Mar 15:00)
local; previous = [1 Mar 12:00, 8 Mar 12:00) UTC. 30d: W = [13 Feb 12:00, 15 Mar 12:00) UTC.
9 Mar 2026 is a Monday; 1 Mar 2026 a Sunday.

    lead  region  product  source     agent  created (UTC)   converted (UTC)          lost
    LN    North   Pro      Ads        A      2 Mar 09:00     10 Mar 09:00 (8 days)    -
    LS    South   Basic    Referrals  B      9 Mar 09:00     13 Mar 21:00 (4.5 days)  -
    LL    North   Basic    Ads        A      10 Mar 09:00    -                        12 Mar
    LO    South   Pro      Referrals  B      11 Mar 09:00    -                        -
    LQ    North   Pro      Referrals  A      9 Mar 12:00     14 Mar 12:00 (5 days)    -
    LP    South   Basic    Ads        B      3 Mar 09:00     -                        5 Mar
    LR    North   Pro      Ads        A      20 Feb 09:00    4 Mar 09:00 (12 days)    -

    sale  lead  agent  product  kind        amount   closed (UTC)    local              window
    S1    LN    A      Pro      new         1000.00  10 Mar 10:00    Tue 10 Mar 13:00   7d
    S2    LS    B      Basic    recurring    250.50  13 Mar 21:30    Sat 14 Mar 00:30   7d
    S3    LS    A      Pro      recurring    300.00  14 Mar 10:00    Sat 14 Mar 13:00   7d
    S4    -     A      ""       one_time      49.50  12 Mar 06:00    Thu 12 Mar 09:00   7d
    S5    LO    B      Basic    upsell       400.00  8 Mar 21:30     Mon 9 Mar 00:30    7d (a new ISO week)
    S6    LQ    A      Pro      cross_sell   200.00  8 Mar 13:00     Sun 8 Mar 16:00    7d (partial first day)
    SE    LN    A      Pro      new          999.00  11 Mar 09:00    (EUR: never counted)
    P1    LR    A      Pro      recurring    200.00  4 Mar 09:00                        previous 7d
    P2    LP    B      Basic    new          600.00  6 Mar 09:00                        previous 7d
    P3    LN    A      Pro      new          100.00  8 Mar 11:59     Sun 8 Mar 14:59    previous 7d
    B1    LR    A      Pro      new          150.00  28 Feb 22:00    Sun 1 Mar 01:00    30d (local March)
    F1    LR    A      Pro      recurring    500.00  20 Feb 09:00                       30d
    R1    LR    A      Pro      recurring     50.00  13 Feb 12:00    Fri 13 Feb 15:00   30d: its first instant
    R0    LR    A      Pro      recurring    700.00  10 Feb 09:00    (no currency)      90d, not last 30 days
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from decimal import Decimal
from fractions import Fraction

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.stats.refresh import statistics_mark_stale, statistics_refresh
from crm.events import Ingested
from crm.models import Role
from insights import analytics, forecast
from insights.metrics import revenue as calc
from insights.models import SaleDailyRollup
from insights.selectors import records
from insights.tabs import DashboardQuery, TabInputError, parse_tab_query, tab_payload
from insights.tabs import revenue as tab
from reports.charts import BarChart, DonutChart, LineChart, render_svg
from tests.factories import LeadFactory, MemberFactory, OrganizationFactory, SaleFactory
from tests.insights.factories import AS_OF

pytestmark = pytest.mark.django_db
URL = "/api/analytics/tabs/revenue"


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=dt.UTC)


LEADS = [
    # (lead, region, product line, source, agent key, created, converted, lost)
    ("LN", "North", "Pro", "Ads", "A", utc(2, 9), utc(10, 9), None),
    ("LS", "South", "Basic", "Referrals", "B", utc(9, 9), utc(13, 21), None),
    ("LL", "North", "Basic", "Ads", "A", utc(10, 9), None, utc(12, 9)),
    ("LO", "South", "Pro", "Referrals", "B", utc(11, 9), None, None),
    ("LQ", "North", "Pro", "Referrals", "A", utc(9, 12), utc(14, 12), None),
    ("LP", "South", "Basic", "Ads", "B", utc(3, 9), None, utc(5, 9)),
    ("LR", "North", "Pro", "Ads", "A", utc(20, 9, month=2), utc(4, 9), None),
]
SALES = [
    # (sale, lead, agent key, product line, kind, amount, closed, currency)
    ("S1", "LN", "A", "Pro", "new", "1000.00", utc(10, 10), "KES"),
    ("S2", "LS", "B", "Basic", "recurring", "250.50", utc(13, 21, 30), "KES"),
    ("S3", "LS", "A", "Pro", "recurring", "300.00", utc(14, 10), "KES"),
    ("S4", None, "A", "", "one_time", "49.50", utc(12, 6), "KES"),
    ("S5", "LO", "B", "Basic", "upsell", "400.00", utc(8, 21, 30), "KES"),
    ("S6", "LQ", "A", "Pro", "cross_sell", "200.00", utc(8, 13), "KES"),
    ("SE", "LN", "A", "Pro", "new", "999.00", utc(11, 9), "EUR"),
    ("P1", "LR", "A", "Pro", "recurring", "200.00", utc(4, 9), "KES"),
    ("P2", "LP", "B", "Basic", "new", "600.00", utc(6, 9), "KES"),
    ("P3", "LN", "A", "Pro", "new", "100.00", utc(8, 11, 59), "KES"),
    ("B1", "LR", "A", "Pro", "new", "150.00", utc(28, 22, month=2), "KES"),
    ("F1", "LR", "A", "Pro", "recurring", "500.00", utc(20, 9, month=2), "KES"),
    ("R1", "LR", "A", "Pro", "recurring", "50.00", utc(13, 12, month=2), "KES"),
    ("R0", "LR", "A", "Pro", "recurring", "700.00", utc(10, 9, month=2), ""),
]


def build_revenue(org, agent, other, *, copy: int = 0) -> None:
    p = f"x{copy}-" if copy else ""
    agents = {"A": agent, "B": other}
    leads = {}
    for ext, region, product, source, who, created, converted, lost in LEADS:
        leads[ext] = LeadFactory(
            organization=org,
            external_id=p + ext,
            region=region,
            product_line=product,
            source=source,
            assigned_agent=agents[who],
            created_at=created,
            converted_at=converted,
            lost_at=lost,
        )
    for ext, lead, who, product, kind, amount, closed, currency in SALES:
        SaleFactory(
            organization=org,
            external_id=p + ext,
            lead=leads[lead] if lead else None,
            agent=agents[who],
            product_line=product,
            kind=kind,
            amount=Decimal(amount),
            closed_at=closed,
            currency=currency,
        )


@pytest.fixture
def frozen():
    with time_machine.travel(AS_OF, tick=False):
        yield


@pytest.fixture
def other_agent(org_a):
    return MemberFactory(email="bea@acme.test", organization=org_a, role=Role.AGENT)


@pytest.fixture
def history(org_a, agent_a, other_agent):
    build_revenue(org_a, agent_a, other_agent)


def query_for(org, **params: str) -> DashboardQuery:
    return parse_tab_query(tab="revenue", organization=org, params={"range": "7d", **params}, as_of=AS_OF)


def compute(org, **params: str) -> dict:
    return tab.compute(query_for(org, **params))


def ids(qs) -> list[str]:
    return sorted(qs.values_list("external_id", flat=True))


def follow(org, href: str) -> list[str]:
    return ids(records.records_for_url(org, href, AS_OF))


def amounts(org, href: str) -> Decimal:
    return sum((s.amount for s in records.records_for_url(org, href, AS_OF)), Decimal(0))


# --- every KPI on the small data ----------------------------------------------------------------

EXPECTED_KPIS = {
    "total": 2200.0,  # S1-S6: 1000 + 250.50 + 300 + 49.50 + 400 + 200 (SE is EUR, P3 is a minute early)
    "deals": 6,
    "averageDealSize": 366.67,  # 2200 / 6 = 366.666...
    "monthlyRecurring": 550.5,  # recurring in the last 30 days of W (all of a 7d W): S2 250.50 + S3 300
    "growthRate": 144.4,  # (2200 - 900) / 900 = 144.44
    "oneTime": 1649.5,  # every kind but recurring: 2200 - 550.50 (S1, S4, S5, S6)
    "winRate": 66.7,  # leads created in W: LS, LQ won, LL lost, LO open: 2 / 3 decided
    "won": 2,
    "decided": 3,
    "salesCycleDays": 5.0,  # converted in W: LS 4.5, LQ 5, LN 8 days -> median 5
    "convertedLeads": 3,
}
EXPECTED_PREVIOUS = {
    "total": 900.0,  # P1 200 + P2 600 + P3 100
    "deals": 3,
    "averageDealSize": 300.0,  # 900 / 3
    "monthlyRecurring": 200.0,  # P1
    "oneTime": 700.0,  # P2 + P3
    "winRate": 50.0,  # created in the previous window: LN won (on 10 Mar), LP lost: 1 / 2
    "won": 1,
    "decided": 2,
    "salesCycleDays": 12.0,  # LR, converted on 4 Mar after 12 days
    "convertedLeads": 1,
}
EXPECTED_TRENDS = {
    "total": 144.4,  # (2200 - 900) / 900
    "monthlyRecurring": 175.3,  # (550.50 - 200) / 200 = 175.25, half up
    "oneTime": 135.6,  # (1649.50 - 700) / 700 = 135.64
    "deals": 100.0,  # (6 - 3) / 3
    "averageDealSize": 22.2,  # (366.667 - 300) / 300 = 22.22, on the unrounded mean
    "salesCycleDays": -58.3,  # (5 - 12) / 12 = -58.33
    "winRate": 16.7,  # in points: 66.67 - 50.0 (a rate's change is never a percent of a percent)
}


def test_kpis_against_the_previous_window(org_a, history, frozen):
    payload = compute(org_a)
    assert payload["kpis"] == EXPECTED_KPIS
    assert payload["previous"] == EXPECTED_PREVIOUS
    assert payload["trends"] == EXPECTED_TRENDS


def test_range_block_and_default_period(org_a, history, frozen):
    payload = compute(org_a)
    assert payload["range"] == {
        "label": "7d",
        "start": "2026-03-08T12:00:00+00:00",
        "end": "2026-03-15T12:00:00+00:00",
        "previousStart": "2026-03-01T12:00:00+00:00",
        "timezone": "Africa/Nairobi",
        "currency": "KES",
    }
    assert payload["period"] == "day"


def test_kpis_of_30_days(org_a, history, frozen):
    # W = [13 Feb 12:00, 15 Mar 12:00) UTC; previous = [14 Jan 12:00, 13 Feb 12:00): R0 only
    payload = compute(org_a, range="30d")
    assert payload["kpis"] == {
        "total": 3800.0,  # 2200 + P1 200 + P2 600 + P3 100 + B1 150 + F1 500 + R1 50
        "deals": 12,
        "averageDealSize": 316.67,  # 3800 / 12
        "monthlyRecurring": 1300.5,  # S2 250.50 + S3 300 + P1 200 + F1 500 + R1 50 (W is 30 days)
        "growthRate": 442.9,  # (3800 - 700) / 700 = 442.86
        "oneTime": 2499.5,  # 3800 - 1300.50
        "winRate": 66.7,  # created in W: LN, LS, LQ, LR won; LL, LP lost: 4 / 6
        "won": 4,
        "decided": 6,
        "salesCycleDays": 6.5,  # 4.5, 5, 8, 12 days: the mean of the middle two (5 + 8) / 2
        "convertedLeads": 4,
    }
    assert payload["previous"] == {
        "total": 700.0,
        "deals": 1,
        "averageDealSize": 700.0,
        "monthlyRecurring": 700.0,  # R0 (no currency: counted, as the organization's)
        "oneTime": 0.0,
        "winRate": None,
        "won": 0,
        "decided": 0,
        "salesCycleDays": None,
        "convertedLeads": 0,
    }
    assert payload["trends"] == {
        "total": 442.9,
        "monthlyRecurring": 85.8,  # (1300.50 - 700) / 700 = 85.79
        "oneTime": None,  # no previous one-time revenue: no base
        "deals": 1100.0,  # (12 - 1) / 1
        "averageDealSize": -54.8,  # (316.667 - 700) / 700 = -54.76
        "salesCycleDays": None,  # nothing converted before
        "winRate": None,  # nothing decided before
    }


def test_monthly_recurring_is_the_last_30_days_of_a_longer_window(org_a, history, frozen):
    # 90d: W = [15 Dec 12:00, 15 Mar 12:00) UTC, its last 30 days [13 Feb 12:00, 15 Mar 12:00)
    payload = compute(org_a, range="90d")
    kpis = payload["kpis"]
    assert kpis["total"] == 4500.0  # the 30d 3800 + R0 700 (10 Feb)
    # R1 closed at the very first instant of the last 30 days (in), R0 three days before (out)
    assert kpis["monthlyRecurring"] == 1300.5  # S2 250.50 + S3 300 + P1 200 + F1 500 + R1 50
    assert kpis["oneTime"] == 2499.5  # every kind but recurring over all of W: 4500 - (1300.50 + 700)
    # previous 90 days: nothing, so no trend (null, never 0)
    assert (payload["previous"]["monthlyRecurring"], payload["trends"]["monthlyRecurring"]) == (0.0, None)
    assert payload["kpis"]["growthRate"] is None
    recurring = next(row for row in payload["kinds"] if row["kind"] == "recurring")
    assert recurring["revenue"] == 2000.5  # the kind counts all of W: 1300.50 + R0 700


def test_monthly_recurring_matches_the_overview(org_a, history, frozen):
    shared = ("total", "deals", "averageDealSize", "monthlyRecurring", "growthRate")
    for time_range in ("7d", "30d", "90d", "1y"):
        overview = analytics.overview(
            organization=org_a, time_range=time_range, metrics=["revenue"], filters={}, as_of=AS_OF
        )["data"]["revenue"]
        kpis = compute(org_a, range=time_range)["kpis"]
        assert {k: kpis[k] for k in shared} == {k: overview[k] for k in shared}, time_range


def test_empty_window_gives_zeros_and_nulls(org_a, frozen):
    payload = compute(org_a)
    assert payload["kpis"] == {
        "total": 0.0,
        "deals": 0,
        "averageDealSize": None,
        "monthlyRecurring": 0.0,
        "growthRate": None,
        "oneTime": 0.0,
        "winRate": None,
        "won": 0,
        "decided": 0,
        "salesCycleDays": None,
        "convertedLeads": 0,
    }
    assert set(payload["trends"].values()) == {None}
    assert [p["revenue"] for p in payload["series"]] == [0.0] * 8
    assert payload["dealSizes"] == {"width": None, "buckets": []}
    assert (payload["productLines"], payload["regions"], payload["kinds"]) == ([], [], [])
    # six complete zero days: a flat line at zero with no spread
    assert payload["forecast"]["available"] is True
    ahead = {(p["forecast"], p["lower"], p["upper"]) for p in payload["forecast"]["points"]}
    assert ahead == {(0.0, 0.0, 0.0)}


# --- deal sizes and breakdowns ------------------------------------------------------------------


def test_deal_size_distribution(org_a, history, frozen):
    # largest 1000: the smallest 1/2/5 x 10^k width with 10 x width > 1000 is 200 (10 x 100 is not
    # above 1000), so 1000 // 200 + 1 = 6 buckets from 0, the last one open above
    assert compute(org_a)["dealSizes"] == {
        "width": 200.0,
        "buckets": [
            {"label": "0–200", "min": 0.0, "max": 200.0, "deals": 1, "revenue": 49.5},  # S4
            {"label": "200–400", "min": 200.0, "max": 400.0, "deals": 3, "revenue": 750.5},  # S6, S2, S3
            {"label": "400–600", "min": 400.0, "max": 600.0, "deals": 1, "revenue": 400.0},  # S5
            {"label": "600–800", "min": 600.0, "max": 800.0, "deals": 0, "revenue": 0.0},
            {"label": "800–1k", "min": 800.0, "max": 1000.0, "deals": 0, "revenue": 0.0},
            {"label": "1k–1.2k", "min": 1000.0, "max": None, "deals": 1, "revenue": 1000.0},  # S1
        ],
    }


def test_refunds_get_a_bucket_below_zero(org_a, agent_a, frozen):
    for ext, amount in (("R-1", "-120.00"), ("R-2", "-0.50"), ("R-3", "7.25"), ("R-4", "0.00")):
        SaleFactory(
            organization=org_a,
            external_id=ext,
            agent=agent_a,
            amount=Decimal(amount),
            currency="KES",
            closed_at=utc(10, 9),
        )
    query = query_for(org_a)
    payload = tab.compute(query)
    # largest 7.25: width 1 (10 x 1 > 7.25), 7.25 // 1 + 1 = 8 buckets from 0, plus "below 0"
    buckets = payload["dealSizes"]["buckets"]
    assert payload["dealSizes"]["width"] == 1.0
    assert [(b["label"], b["min"], b["max"], b["deals"], b["revenue"]) for b in buckets[:2]] == [
        ("below 0", None, 0.0, 2, -120.5),  # R-1 + R-2
        ("0–1", 0.0, 1.0, 1, 0.0),
    ]
    assert (buckets[-1]["label"], buckets[-1]["min"], buckets[-1]["max"], buckets[-1]["deals"]) == (
        "7–8",
        7.0,
        None,
        1,
    )
    assert len(buckets) == 9
    assert payload["kpis"]["total"] == -113.25  # -120 - 0.50 + 7.25 + 0
    bars = tab.charts(payload, query)["deal_sizes"].series[0].points
    assert follow(org_a, bars[0].href) == ["R-1", "R-2"]
    assert bars[0].href.endswith("&dealMax=0")
    assert follow(org_a, bars[1].href) == ["R-4"]
    assert follow(org_a, bars[-1].href) == ["R-3"]


def test_revenue_by_product_line_region_and_kind(org_a, history, frozen):
    payload = compute(org_a)
    # product line of the sale (S3 is Pro on a Basic lead); S4 has none
    assert payload["productLines"] == [
        {
            "productLine": "Pro",
            "revenue": 1500.0,
            "deals": 3,
            "share": 68.2,  # S1, S3, S6; 1500/2200 = 68.18
            "averageDealSize": 500.0,
        },
        {
            "productLine": "Basic",
            "revenue": 650.5,
            "deals": 2,
            "share": 29.6,  # S2, S5; 29.57
            "averageDealSize": 325.25,
        },
        {
            "productLine": "(none)",
            "revenue": 49.5,
            "deals": 1,
            "share": 2.3,  # S4; 2.25 half up
            "averageDealSize": 49.5,
        },
    ]
    # region of the sale's lead; S4 has no lead
    assert payload["regions"] == [
        {"region": "North", "revenue": 1200.0, "deals": 2, "share": 54.5, "averageDealSize": 600.0},  # S1, S6
        {
            "region": "South",
            "revenue": 950.5,
            "deals": 3,
            "share": 43.2,  # S2, S3, S5; 43.20
            "averageDealSize": 316.83,
        },  # 950.50 / 3 = 316.833
        {"region": "(none)", "revenue": 49.5, "deals": 1, "share": 2.3, "averageDealSize": 49.5},
    ]
    assert payload["kinds"] == [
        {
            "kind": "new",
            "label": "New",
            "revenue": 1000.0,
            "deals": 1,
            "share": 45.5,  # 45.45
            "averageDealSize": 1000.0,
        },
        {
            "kind": "recurring",
            "label": "Recurring",
            "revenue": 550.5,
            "deals": 2,
            "share": 25.0,  # 25.02
            "averageDealSize": 275.25,
        },
        {
            "kind": "upsell",
            "label": "Upsell",
            "revenue": 400.0,
            "deals": 1,
            "share": 18.2,
            "averageDealSize": 400.0,
        },
        {
            "kind": "cross_sell",
            "label": "Cross Sell",
            "revenue": 200.0,
            "deals": 1,
            "share": 9.1,
            "averageDealSize": 200.0,
        },
        {
            "kind": "one_time",
            "label": "One Time",
            "revenue": 49.5,
            "deals": 1,
            "share": 2.3,
            "averageDealSize": 49.5,
        },
    ]
    for key in ("productLines", "regions", "kinds"):
        assert sum(Decimal(str(r["revenue"])) for r in payload[key]) == Decimal("2200.00"), key
        assert sum(r["deals"] for r in payload[key]) == 6, key


# --- the revenue line: local buckets, zero-filled -----------------------------------------------


def series_of(payload: dict) -> list[tuple]:
    return [(p["bucket"], p["to"], p["complete"], p["revenue"], p["deals"]) for p in payload["series"]]


def test_daily_series_in_local_days(org_a, history, frozen):
    payload = compute(org_a)
    assert series_of(payload) == [
        ("2026-03-08", "2026-03-08", False, 200.0, 1),  # S6 16:00 local; P3 (14:59 local) is before W
        ("2026-03-09", "2026-03-09", True, 400.0, 1),  # S5: 8 Mar 21:30 UTC is 9 Mar 00:30 local
        ("2026-03-10", "2026-03-10", True, 1000.0, 1),  # S1
        ("2026-03-11", "2026-03-11", True, 0.0, 0),  # SE is EUR
        ("2026-03-12", "2026-03-12", True, 49.5, 1),  # S4
        ("2026-03-13", "2026-03-13", True, 0.0, 0),  # S2 is 13 Mar 21:30 UTC = 14 Mar 00:30 local
        ("2026-03-14", "2026-03-14", True, 550.5, 2),  # S2 + S3
        ("2026-03-15", "2026-03-15", False, 0.0, 0),  # today, until 15:00 local
    ]
    assert [p["label"] for p in payload["series"][:2]] == ["8 Mar", "9 Mar"]
    assert sum(Decimal(str(p["revenue"])) for p in payload["series"]) == Decimal("2200.00")


def test_weekly_series_across_a_week_boundary(org_a, history, frozen):
    # the 7d window touches two ISO weeks in Nairobi: Mon 2 Mar (Sun 8 Mar) and Mon 9 Mar
    payload = compute(org_a, period="week")
    assert payload["period"] == "week"
    assert series_of(payload) == [
        ("2026-03-02", "2026-03-08", False, 200.0, 1),  # S6 only: W starts on 8 Mar 15:00 local
        # S5 (a Sunday in UTC, the Monday in Nairobi), S1, S4, S2, S3
        ("2026-03-09", "2026-03-15", False, 2000.0, 5),
    ]


def test_weekly_and_monthly_series_of_30_days(org_a, history, frozen):
    # 30d = [13 Feb 15:00, 15 Mar 15:00) local
    weekly = compute(org_a, range="30d", period="week")
    assert series_of(weekly) == [
        ("2026-02-09", "2026-02-15", False, 50.0, 1),  # R1 (13 Feb 15:00 local, W's first instant)
        ("2026-02-16", "2026-02-22", True, 500.0, 1),  # F1
        ("2026-02-23", "2026-03-01", True, 150.0, 1),  # B1: 28 Feb 22:00 UTC = Sun 1 Mar 01:00 local
        ("2026-03-02", "2026-03-08", True, 1100.0, 4),  # P1 200, P2 600, P3 100, S6 200
        ("2026-03-09", "2026-03-15", False, 2000.0, 5),  # this week so far
    ]
    monthly = compute(org_a, range="30d", period="month")
    assert series_of(monthly) == [
        ("2026-02-01", "2026-02-28", False, 550.0, 2),  # R1 + F1 (B1 is March in Nairobi)
        ("2026-03-01", "2026-03-31", False, 3250.0, 10),  # B1, P1-P3, S1-S6
    ]
    assert [p["label"] for p in monthly["series"]] == ["Feb 2026", "Mar 2026"]
    daily = compute(org_a, range="30d")
    assert (len(daily["series"]), daily["series"][0]["bucket"], daily["series"][-1]["bucket"]) == (
        31,
        "2026-02-13",
        "2026-03-15",
    )
    by_day = {p["bucket"]: p["revenue"] for p in daily["series"]}
    # zero-filled
    assert (by_day["2026-02-28"], by_day["2026-03-01"], by_day["2026-02-14"]) == (0.0, 150.0, 0.0)
    for payload in (weekly, monthly, daily):
        assert sum(Decimal(str(p["revenue"])) for p in payload["series"]) == Decimal("3800.00")


def test_default_period_is_week_beyond_90_days(org_a, history, frozen):
    assert compute(org_a, range="90d")["period"] == "day"  # 90 buckets
    year = compute(org_a, range="1y")
    assert year["period"] == "week"
    # 1y = [15 Mar 2025 15:00, 15 Mar 2026 15:00) local: Mon 10 Mar 2025 .. Mon 9 Mar 2026
    assert (len(year["series"]), year["series"][0]["bucket"], year["series"][-1]["bucket"]) == (
        53,
        "2025-03-10",
        "2026-03-09",
    )
    assert year["series"][0]["label"] == "10 Mar 2025"  # the year in labels spanning two years
    # a custom range of 366 days
    assert compute(org_a, range="custom", start="2025-03-15", end="2026-03-15")["period"] == "week"


def test_custom_local_day_around_midnight(org_a, history, frozen):
    # 14 Mar local = [13 Mar 21:00, 14 Mar 21:00) UTC: S2 (21:30 UTC on the 13th) and S3
    for rolled_up in (False, True):
        if rolled_up:
            statistics_refresh(
                organization=org_a, family="insights", as_of=AS_OF
            )  # 14 Mar is a trusted rollup day
            cache.clear()
        payload = compute(org_a, range="custom", start="2026-03-14", end="2026-03-14")
        assert (payload["kpis"]["total"], payload["kpis"]["deals"]) == (550.5, 2)
        assert series_of(payload) == [("2026-03-14", "2026-03-14", True, 550.5, 2)]
        # previous = 13 Mar local: nothing (S2 is not the 13th in Nairobi)
        assert payload["previous"]["total"] == 0.0


@pytest.fixture
def org_ny(db):
    return OrganizationFactory(slug="ny-shop", timezone="America/New_York", currency="USD")


@pytest.mark.parametrize("use_rollups", [False, True], ids=["live", "rollups"])
def test_buckets_across_a_dst_change(org_ny, frozen, use_rollups):
    # New York springs forward on Sun 8 Mar 2026 (02:00 EST -> 03:00 EDT): 8 Mar has 23 hours
    closed = {
        "N1": utc(8, 4, 30),  # Sat 7 Mar 23:30 EST
        "N2": utc(8, 5, 30),  # Sun 8 Mar 00:30 EST
        "N3": utc(9, 3, 30),  # Sun 8 Mar 23:30 EDT
        "N4": utc(9, 4, 30),  # Mon 9 Mar 00:30 EDT: a new ISO week
    }
    for ext, when in closed.items():
        SaleFactory(organization=org_ny, external_id=ext, amount=Decimal(10), currency="USD", closed_at=when)
    if use_rollups:
        statistics_refresh(organization=org_ny, family="insights", as_of=AS_OF)
    daily = compute(org_ny, range="custom", start="2026-03-07", end="2026-03-09")
    assert series_of(daily) == [
        ("2026-03-07", "2026-03-07", True, 10.0, 1),
        ("2026-03-08", "2026-03-08", True, 20.0, 2),
        ("2026-03-09", "2026-03-09", True, 10.0, 1),
    ]
    weekly = compute(org_ny, range="custom", start="2026-03-07", end="2026-03-09", period="week")
    assert series_of(weekly) == [
        ("2026-03-02", "2026-03-08", False, 30.0, 3),  # W starts on Saturday: not a whole week
        ("2026-03-09", "2026-03-15", False, 10.0, 1),
    ]
    query = query_for(org_ny, range="custom", start="2026-03-07", end="2026-03-09")
    points = tab.charts(tab.compute(query), query)["revenue_line"].series[0].points
    assert [follow(org_ny, p.href) for p in points] == [["N1"], ["N2", "N3"], ["N4"]]


# --- the forecast: pure arithmetic ----------------------------------------------------------------


def test_an_exact_line_continues_exactly_with_a_zero_width_interval():
    # y = 100 + 50x on x = 0..4
    fit = forecast.linear_forecast([0, 1, 2, 3, 4], [100, 150, 200, 250, 300], at=[5, 6])
    assert (fit.slope, fit.intercept, fit.n, fit.residual_sd) == (50.0, 100.0, 5, 0.0)
    assert fit.predictions == (
        forecast.Prediction(x=5.0, value=350.0, lower=350.0, upper=350.0),
        forecast.Prediction(x=6.0, value=400.0, lower=400.0, upper=400.0),
    )
    # decimal amounts are summed exactly: 0.1, 0.2, 0.3 continue to 0.4 exactly, not 0.4000000001
    tenths = forecast.linear_forecast([0, 1, 2], [0.1, 0.2, Decimal("0.3")], at=[3])
    assert tenths.predictions[0] == forecast.Prediction(x=3.0, value=0.4, lower=0.4, upper=0.4)


def test_a_noisy_series_against_the_hand_computed_prediction_interval():
    # x = 0, 1, 2, 3 and y = 1, 3, 2, 5:
    #   x_mean = 1.5, y_mean = 2.75, Sxx = 2.25 + 0.25 + 0.25 + 2.25 = 5,
    #   Sxy = (-1.5)(-1.75) + (-0.5)(0.25) + (0.5)(-0.75) + (1.5)(2.25) = 5.5,
    #   slope = 5.5 / 5 = 1.1, intercept = 2.75 - 1.1 x 1.5 = 1.1;
    #   fitted 1.1, 2.2, 3.3, 4.4, residuals -0.1, 0.8, -1.3, 0.6, SSE = 2.7, s^2 = 2.7 / (4 - 2) = 1.35;
    #   80%: t(0.9, df = 2) = (2p - 1) / sqrt(2p(1 - p)) = 0.8 / sqrt(0.18) = 1.885618;
    #   x0 = 4: y = 1.1 + 4.4 = 5.5, spread = 1.35 x (1 + 1/4 + 2.5^2 / 5) = 1.35 x 2.5 = 3.375,
    #           half = 0.8 x sqrt(3.375 / 0.18) = 0.8 x sqrt(18.75) = 2 sqrt(3) = 3.464102;
    #   x0 = 5: y = 6.6, spread = 1.35 x (1.25 + 3.5^2 / 5) = 4.995, half = 0.8 x sqrt(27.75) = 4.214262
    fit = forecast.linear_forecast([0, 1, 2, 3], [1, 3, 2, 5], at=[4, 5])
    assert (fit.slope, fit.intercept) == (pytest.approx(1.1), pytest.approx(1.1))
    assert fit.residual_sd == pytest.approx(math.sqrt(1.35))
    assert fit.t_quantile == pytest.approx(0.8 / math.sqrt(0.18), rel=1e-12)
    at_4, at_5 = fit.predictions
    assert (at_4.value, at_4.lower, at_4.upper) == (
        pytest.approx(5.5),
        pytest.approx(5.5 - 2 * math.sqrt(3), rel=1e-12),
        pytest.approx(5.5 + 2 * math.sqrt(3), rel=1e-12),
    )
    assert at_4.lower < 5.5 < at_4.upper
    assert (at_5.value, at_5.upper - at_5.value) == (pytest.approx(6.6), pytest.approx(4.214262, abs=1e-6))
    # the same by the textbook formula, with exact fractions
    xs, ys = [Fraction(v) for v in (0, 1, 2, 3)], [Fraction(v) for v in (1, 3, 2, 5)]
    x_mean, y_mean = sum(xs) / 4, sum(ys) / 4
    sxx = sum((x - x_mean) ** 2 for x in xs)
    slope = sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = y_mean - slope * x_mean
    s2 = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True)) / 2
    assert (slope, intercept, s2) == (Fraction(11, 10), Fraction(11, 10), Fraction(27, 20))
    half = fit.t_quantile * math.sqrt(s2 * (1 + Fraction(1, 4) + (5 - x_mean) ** 2 / sxx))
    assert (at_5.lower, at_5.upper) == (pytest.approx(6.6 - half), pytest.approx(6.6 + half))
    # a 95% interval is wider: t(0.975, 2) = 0.95 / sqrt(2 x 0.975 x 0.025) = 4.302653
    wide = forecast.linear_forecast([0, 1, 2, 3], [1, 3, 2, 5], at=[4], confidence=0.95)
    assert wide.predictions[0].upper - 5.5 == pytest.approx(4.302653 * math.sqrt(3.375), rel=1e-6)


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        (0.9, 1, math.tan(0.4 * math.pi)),  # df = 1 is Cauchy: tan(pi (p - 1/2)) = 3.077684
        (0.9, 2, 0.8 / math.sqrt(0.18)),  # df = 2: (2p - 1) / sqrt(2p(1 - p)) = 1.885618
        (0.975, 2, 0.95 / math.sqrt(0.04875)),  # 4.302653
        (0.9, 3, 1.637744),  # t tables
        (0.9, 10, 1.372184),
        (0.95, 5, 2.015048),
        (0.975, 30, 2.042272),
        (0.9, 1000, 1.282399),  # close to the normal 1.281552
        (0.1, 2, -0.8 / math.sqrt(0.18)),  # symmetric
        (0.5, 7, 0.0),
    ],
)
def test_student_t_quantile(p, df, expected):
    """The interval's t for df = n - 2 residual degrees of freedom and two-sided confidence
    2p - 1 (p >= 0.5), against published values; p < 0.5 is the mirrored lower quantile."""
    xs = list(range(df + 2))
    confidence = abs(2 * p - 1)
    if confidence == 0:
        with pytest.raises(ValueError, match="confidence"):
            forecast.linear_forecast(xs, xs, at=[0], confidence=confidence)
        return
    fitted = forecast.linear_forecast(xs, [x % 3 for x in xs], at=[0], confidence=confidence)
    assert math.copysign(fitted.t_quantile, p - 0.5) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("xs", "ys", "message"),
    [
        ([0, 1], [5, 6], "a forecast needs at least 3 points, got 2"),
        ([2, 2, 2], [1, 2, 3], "the points must not all have the same x"),
        ([0, 1, 2], [1, 2], "xs and ys must have the same length"),
        ([0, 1, 2], [1, float("nan"), 2], "values must be finite"),
    ],
)
def test_a_forecast_refuses_what_cannot_carry_a_line(xs, ys, message):
    with pytest.raises(forecast.ForecastError, match=message):
        forecast.linear_forecast(xs, ys, at=[3])


def test_confidence_must_be_a_probability():
    with pytest.raises(ValueError, match="confidence"):
        forecast.linear_forecast([0, 1, 2], [1, 2, 3], at=[3], confidence=1.0)


# --- the forecast on the tab ------------------------------------------------------------------------


def forecast_points(payload: dict) -> list[tuple]:
    points = payload["forecast"]["points"]
    return [(p["bucket"], p["to"], p["forecast"], p["lower"], p["upper"]) for p in points]


@pytest.mark.parametrize(
    ("params", "sales", "expected_slope", "expected"),
    [
        (
            # days 1..7 Mar at local noon, 100 x day: y = 100 + 100x on x = 0..6 -> 8..14 Mar
            {"range": "custom", "start": "2026-03-01", "end": "2026-03-07"},
            [(utc(d, 9), 100 * d) for d in range(1, 8)],
            100.0,
            [(f"2026-03-{d:02d}", f"2026-03-{d:02d}", 100.0 * d, 100.0 * d, 100.0 * d) for d in range(8, 15)],
        ),
        (
            # ISO weeks from Mon 9 Feb to Sun 8 Mar, each sale on a Monday 00:30 local (a Sunday in UTC)
            # or, for the third week, on Sun 1 Mar 01:00 local (28 Feb in UTC): 100, 200, 300, 400
            {"range": "custom", "start": "2026-02-09", "end": "2026-03-08", "period": "week"},
            [
                (utc(8, 21, 30, month=2), 100),
                (utc(15, 21, 30, month=2), 200),
                (utc(28, 22, month=2), 300),
                (utc(1, 21, 30), 400),
            ],
            100.0,
            [
                ("2026-03-09", "2026-03-15", 500.0, 500.0, 500.0),
                ("2026-03-16", "2026-03-22", 600.0, 600.0, 600.0),
                ("2026-03-23", "2026-03-29", 700.0, 700.0, 700.0),
                ("2026-03-30", "2026-04-05", 800.0, 800.0, 800.0),
            ],
        ),
        (
            # Dec, Jan, Feb: 1000, 1500, 2000 (the January sale is 31 Dec 21:30 UTC = 1 Jan 00:30 local)
            {"range": "custom", "start": "2025-12-01", "end": "2026-02-28", "period": "month"},
            [
                (dt.datetime(2025, 11, 30, 21, 30, tzinfo=dt.UTC), 1000),
                (dt.datetime(2025, 12, 31, 21, 30, tzinfo=dt.UTC), 1500),
                (utc(28, 20, 59, month=2), 2000),
            ],
            500.0,
            [
                ("2026-03-01", "2026-03-31", 2500.0, 2500.0, 2500.0),
                ("2026-04-01", "2026-04-30", 3000.0, 3000.0, 3000.0),
                ("2026-05-01", "2026-05-31", 3500.0, 3500.0, 3500.0),
            ],
        ),
    ],
    ids=["days", "weeks", "months"],
)
def test_the_tab_continues_a_known_trend(org_a, agent_a, frozen, params, sales, expected_slope, expected):
    for i, (when, amount) in enumerate(sales):
        SaleFactory(
            organization=org_a,
            external_id=f"T{i}",
            agent=agent_a,
            amount=Decimal(amount),
            currency="KES",
            closed_at=when,
        )
    payload = compute(org_a, **params)
    assert all(p["complete"] for p in payload["series"])  # each custom range is whole buckets
    assert [p["revenue"] for p in payload["series"]] == [float(a) for _w, a in sales]
    got = payload["forecast"]
    assert (got["available"], got["reason"], got["method"], got["confidence"]) == (
        True,
        None,
        "linear least squares",
        80.0,
    )
    assert (got["fittedBuckets"], got["horizon"], got["slope"]) == (len(sales), len(expected), expected_slope)
    assert forecast_points(payload) == expected


def test_the_tab_forecast_of_a_noisy_series(org_a, agent_a, frozen):
    # 1..4 Mar: 100, 300, 200, 500 = 100 x the pure case above: slope 110, intercept 110,
    # s^2 = 13500; next days x = 4, 5, 6: 550 +- 200 sqrt 3, 660 +- 0.8 sqrt(277500), 770 +- 0.8 sqrt(397500)
    for day, amount in ((1, 100), (2, 300), (3, 200), (4, 500)):
        SaleFactory(
            organization=org_a,
            external_id=f"N{day}",
            agent=agent_a,
            amount=Decimal(amount),
            currency="KES",
            closed_at=utc(day, 9),
        )
    payload = compute(org_a, range="custom", start="2026-03-01", end="2026-03-04")
    assert (payload["forecast"]["slope"], payload["forecast"]["fittedBuckets"]) == (110.0, 4)
    assert forecast_points(payload)[:3] == [
        ("2026-03-05", "2026-03-05", 550.0, 203.59, 896.41),  # 550 -+ 346.41
        ("2026-03-06", "2026-03-06", 660.0, 238.57, 1081.43),  # 660 -+ 421.43
        ("2026-03-07", "2026-03-07", 770.0, 265.62, 1274.38),  # 770 -+ 504.38
    ]
    assert len(payload["forecast"]["points"]) == 7  # a week of days ahead


def test_the_forecast_fits_the_complete_buckets_only_and_floors_at_zero(org_a, history, frozen):
    payload = compute(org_a)
    # fitted: 9..14 Mar (x = 1..6 of the 8 buckets; 8 Mar and today are cut by W)
    fit = forecast.linear_forecast(
        [1, 2, 3, 4, 5, 6], [400, 1000, 0, Decimal("49.5"), 0, Decimal("550.5")], at=range(8, 15)
    )
    assert payload["forecast"]["fittedBuckets"] == 6
    assert payload["forecast"]["slope"] == round(fit.slope, 2) == -62.8  # a falling line
    assert forecast_points(payload) == [
        (
            f"2026-03-{16 + i:02d}",
            f"2026-03-{16 + i:02d}",
            round(max(p.value, 0), 2),
            round(max(p.lower, 0), 2),
            round(max(p.upper, 0), 2),
        )
        for i, p in enumerate(fit.predictions)
    ]
    first, second = payload["forecast"]["points"][:2]
    assert (first["forecast"], first["lower"]) == (50.73, 0.0)  # revenue is never negative
    assert (second["forecast"], second["upper"]) == (0.0, 1102.28)


def test_too_few_complete_buckets_give_no_forecast_and_say_why(org_a, history, frozen):
    monthly = compute(org_a, range="30d", period="month")["forecast"]
    assert (monthly["available"], monthly["fittedBuckets"], monthly["points"], monthly["slope"]) == (
        False,
        0,
        [],
        None,
    )
    assert monthly["reason"] == (
        "A forecast needs at least 3 complete months in the period; this one has 0. "
        "Choose a longer range or shorter buckets."
    )
    two_days = compute(org_a, range="custom", start="2026-03-09", end="2026-03-10")["forecast"]
    assert (two_days["available"], two_days["fittedBuckets"]) == (False, 2)
    three_weeks = compute(org_a, range="30d", period="week")["forecast"]
    assert (three_weeks["available"], three_weeks["fittedBuckets"], three_weeks["horizon"]) == (True, 3, 4)


def test_a_custom_range_ending_after_now_fits_only_the_past(org_a, history, frozen):
    # 9..21 Mar at 15 Mar 15:00 local: today and the days to come are whole days of W but hold
    # only the sales so far; the line is fitted on 9..14 Mar only
    payload = compute(org_a, range="custom", start="2026-03-09", end="2026-03-21")
    assert all(p["complete"] for p in payload["series"])
    assert payload["forecast"]["fittedBuckets"] == 6  # 9..14 Mar
    fit = forecast.linear_forecast(
        [0, 1, 2, 3, 4, 5], [400, 1000, 0, Decimal("49.5"), 0, Decimal("550.5")], at=range(13, 20)
    )
    assert payload["forecast"]["slope"] == round(fit.slope, 2) == -62.8
    assert payload["forecast"]["points"][0]["bucket"] == "2026-03-22"
    assert payload["forecast"]["points"][0]["upper"] == round(max(fit.predictions[0].upper, 0), 2)


# --- the tab's own parameter and bad input ----------------------------------------------------------


def test_period_is_parsed_and_part_of_the_cache_key(org_a, history, rf, frozen):
    assert tab.EXTRA_PARAMS.keys() == {"period"}
    assert query_for(org_a).extra == {}
    assert query_for(org_a, period="").extra == {}
    assert query_for(org_a, period="month").extra == {"period": "month"}
    request = rf.get("/", {"range": "7d", "period": ["day", "week"]})  # the last value wins, as QueryDict.get
    parsed = parse_tab_query(tab="revenue", organization=org_a, params=request.GET, as_of=AS_OF)
    assert parsed.extra == {"period": "week"}
    assert tab_payload("revenue", query_for(org_a))["period"] == "day"
    assert tab_payload("revenue", query_for(org_a, period="week"))["period"] == "week"  # not the cached day


@pytest.mark.parametrize("value", ["hour", "Week", "days", " day", "1", "x" * 300])
def test_bad_period_is_refused_naming_it(org_a, value):
    with pytest.raises(TabInputError) as caught:
        query_for(org_a, period=value)
    assert caught.value.field == "period"
    with pytest.raises(TabInputError) as caught:
        tab.parse_extra({"period": ["day"]}, organization=org_a)
    assert (caught.value.field, str(caught.value)) == ("period", "Use one of day, week, month.")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "hour"}, "period"),
        ({"period": "quarter", "range": "1y"}, "period"),
        ({"range": "2w"}, "range"),
        ({"range": "custom", "start": "2026-03-20", "end": "2026-03-01"}, "start"),
        ({"range": "custom", "start": "2026-02-30", "end": "2026-03-01"}, "start"),
        ({"region": "Atlantis"}, "region"),
        ({"productLine": "Nope"}, "productLine"),
        ({"source": "TV"}, "source"),
        ({"agent": "nobody@acme.test"}, "agent"),
    ],
)
def test_api_bad_parameters_are_400s_naming_them(manager_a, history, api_client_for, frozen, params, field):
    response = api_client_for(manager_a).get(URL, params)
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["details"]) == [field]


def test_pages_refuse_a_bad_period(manager_a, history, client, frozen):
    client.force_login(manager_a)
    fragment = client.get("/dashboard/analytics/tab/revenue", {"period": "hour"})
    assert fragment.status_code == 400
    assert "Use one of day, week, month." in fragment.content.decode()
    assert client.get("/dashboard/analytics", {"tab": "revenue", "period": "hour"}).status_code == 400
    export = client.get("/dashboard/analytics/export/revenue/series.csv", {"period": "hour"})
    assert (export.status_code, export.content.decode()) == (400, "period: Use one of day, week, month.")


def test_period_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/analytics/tabs/revenue"]["get"]
    assert "period" in {p["name"] for p in operation["parameters"]}
    assert {"200", "400", "401", "403"} <= set(operation["responses"])


# --- filters ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # (total, deals, MRR, winRate, won/decided, cycle): sales by the sale's lead (region, source),
        # the sale's product line and agent; win rate and cycle by the lead's own columns
        ({"region": "North"}, (1200.0, 2, 0.0, 50.0, (1, 2), 6.5)),  # S1, S6; LQ won, LL lost; LN 8, LQ 5
        ({"region": "South"}, (950.5, 3, 550.5, 100.0, (1, 1), 4.5)),  # S2, S3, S5; LS won, LO open; LS
        ({"productLine": "Pro"}, (1500.0, 3, 300.0, 100.0, (1, 1), 6.5)),  # S1, S3, S6; LQ won, LO open
        ({"productLine": "Basic"}, (650.5, 2, 250.5, 50.0, (1, 2), 4.5)),  # S2, S5; LS won, LL lost
        ({"source": "Ads"}, (1000.0, 1, 0.0, 0.0, (0, 1), 8.0)),  # S1; LL lost; LN 8
        # S2, S3, S5, S6; LS, LQ won, LO open; (4.5 + 5) / 2 = 4.75, half up
        ({"source": "Referrals"}, (1150.5, 4, 550.5, 100.0, (2, 2), 4.8)),
        ({"agent": "agent@acme.test"}, (1549.5, 4, 300.0, 50.0, (1, 2), 6.5)),  # S1, S3, S4, S6; LQ, LL
        ({"agent": "bea@acme.test"}, (650.5, 2, 250.5, 100.0, (1, 1), 4.5)),  # S2, S5; LS won, LO open
        ({"agent": "agent@acme.test", "region": "South"}, (300.0, 1, 300.0, None, (0, 0), None)),  # S3
        ({"source": "Ads", "productLine": "Basic"}, (0.0, 0, 0.0, 0.0, (0, 1), None)),  # LL lost, no sale
    ],
)
def test_filters_narrow_every_number(org_a, history, frozen, filters, expected):
    payload = compute(org_a, **filters)
    k = payload["kpis"]
    won = (k["won"], k["decided"])
    assert (k["total"], k["deals"], k["monthlyRecurring"], k["winRate"], won, k["salesCycleDays"]) == expected
    total = Decimal(str(k["total"]))
    # every breakdown adds up to the filtered total
    for key in ("productLines", "regions", "kinds"):
        assert sum(Decimal(str(r["revenue"])) for r in payload[key]) == total, key
        assert sum(r["deals"] for r in payload[key]) == k["deals"], key
    assert sum(Decimal(str(p["revenue"])) for p in payload["series"]) == total
    assert sum(b["deals"] for b in payload["dealSizes"]["buckets"]) == k["deals"]


def test_a_sale_without_a_lead_counts_for_its_agent_only(org_a, history, frozen):
    agent = compute(org_a, agent="agent@acme.test")
    assert {r["region"]: r["deals"] for r in agent["regions"]} == {"North": 2, "South": 1, "(none)": 1}  # S4
    for filters in ({"region": "North"}, {"source": "Ads"}, {"source": "Referrals"}):
        assert "(none)" not in [r["region"] for r in compute(org_a, **filters)["regions"]]


# --- rollups ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"range": "24h"},
        {"range": "7d"},
        {"range": "7d", "period": "week"},
        {"range": "30d"},
        {"range": "30d", "period": "week"},
        {"range": "90d", "period": "month"},
        {"range": "1y"},
        {"range": "custom", "start": "2026-02-01", "end": "2026-03-14", "period": "week"},
        {"range": "custom", "start": "2026-03-14", "end": "2026-03-14"},
        {"range": "7d", "region": "South"},
        {"range": "30d", "agent": "bea@acme.test", "productLine": "Basic"},
    ],
    ids=[
        "24h",
        "7d",
        "7d-week",
        "30d",
        "30d-week",
        "90d-month",
        "1y",
        "custom-weeks",
        "custom-day",
        "7d-south",
        "30d-bea-basic",
    ],
)
def test_rollup_path_equals_raw_path(org_a, history, frozen, params):
    live = compute(org_a, **params)
    statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)  # trusted through 14 Mar local
    cache.clear()
    assert compute(org_a, **params) == live


def test_rollup_path_is_not_vacuous(org_a, history, frozen):
    statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    # S1..S6, P1..P3, B1, F1, R0, R1 (SE is EUR): 13 sales, 14 Mar the last trusted day
    assert sum(SaleDailyRollup.objects.filter(organization=org_a).values_list("count", flat=True)) == 13
    assert compute(org_a, range="30d")["kpis"]["total"] == 3800.0


# --- drill-down: each link lists exactly the sales behind its number ---------------------------------


def test_every_chart_link_lists_the_sales_behind_its_number(org_a, history, frozen):
    query = query_for(org_a)
    payload = tab.compute(query)
    specs = tab.charts(payload, query)
    checked = 0
    for bucket, point in zip(payload["series"], specs["revenue_line"].series[0].points, strict=True):
        if point.href is None:
            assert not bucket["complete"]
            continue
        assert len(follow(org_a, point.href)) == bucket["deals"], point.label
        assert amounts(org_a, point.href) == Decimal(str(point.value)), point.label
        checked += 1
    bars = specs["deal_sizes"].series[0].points
    for bucket, point in zip(payload["dealSizes"]["buckets"], bars, strict=True):
        assert len(follow(org_a, point.href)) == point.value == bucket["deals"], point.label
        assert amounts(org_a, point.href) == Decimal(str(bucket["revenue"])), point.label
        checked += 1
    for key, slug in (("kinds", "kinds"), ("productLines", "product-lines"), ("regions", "regions")):
        points = specs[slug].slices if key == "kinds" else specs[slug].series[0].points
        for row, point in zip(payload[key], points, strict=True):
            if point.href is None:
                assert point.label == "(none)"  # an empty filter value would mean "all"
                continue
            assert len(follow(org_a, point.href)) == row["deals"], point.label
            assert amounts(org_a, point.href) == Decimal(str(point.value)), point.label
            checked += 1
    # 6 whole days, 6 deal-size bars, 5 kinds, 2 product lines and 2 regions with a name
    assert checked == 6 + 6 + 5 + 2 + 2


@pytest.mark.parametrize(
    ("pick", "expected"),
    [
        (lambda s, c: s["revenue_line"].series[0].points[1].href, ["S5"]),  # 9 Mar local (8 Mar UTC)
        (lambda s, c: s["revenue_line"].series[0].points[6].href, ["S2", "S3"]),  # 14 Mar local
        (lambda s, c: s["revenue_line"].series[0].points[5].href, []),  # 13 Mar: zero, and lists nothing
        (lambda s, c: s["deal_sizes"].series[0].points[1].href, ["S2", "S3", "S6"]),  # [200, 400): 200 is in
        (lambda s, c: s["deal_sizes"].series[0].points[5].href, ["S1"]),  # 1000 and up
        (lambda s, c: s["kinds"].slices[1].href, ["S2", "S3"]),  # recurring
        (lambda s, c: s["product-lines"].series[0].points[0].href, ["S1", "S3", "S6"]),  # Pro, of the sale
        (lambda s, c: s["regions"].series[0].points[1].href, ["S2", "S3", "S5"]),  # South, the lead's region
        (lambda s, c: c["cards"][0]["href"], ["S1", "S2", "S3", "S4", "S5", "S6"]),  # total (not SE, not P3)
        (lambda s, c: c["cards"][1]["href"], ["S2", "S3"]),  # monthly recurring
    ],
)
def test_links_list_exactly_these_sales(org_a, history, frozen, pick, expected):
    query = query_for(org_a)
    payload = tab.compute(query)
    assert follow(org_a, pick(tab.charts(payload, query), tab.page_context(payload, query))) == expected


def test_cut_buckets_are_not_linked(org_a, history, frozen):
    # a from/to link lists whole local days: 8 Mar would list P3 (14:59 local, before W) too
    query = query_for(org_a)
    points = tab.charts(tab.compute(query), query)["revenue_line"].series[0].points
    assert (points[0].href, points[-1].href) == (None, None)
    assert points[0].tooltip == "1 deal, part of the day only"
    whole_day = query.query_string(**{"from": "2026-03-08", "to": "2026-03-08"})
    assert follow(org_a, f"/dashboard/analytics/records/sales?{whole_day}") == ["P3", "S6"]


def test_card_and_win_rate_links(org_a, history, frozen):
    query = query_for(org_a)
    context = tab.page_context(tab.compute(query), query)
    won = ids(records.records_for_url(org_a, context["won_href"], AS_OF))
    assert won == ["LQ", "LS"]  # the 2 won of the win rate card
    cards = {c["key"]: c for c in context["cards"]}
    assert amounts(org_a, cards["total"]["href"]) == Decimal("2200.00")
    assert amounts(org_a, cards["monthlyRecurring"]["href"]) == Decimal("550.50")
    assert [cards[k]["href"] for k in ("oneTime", "winRate", "salesCycleDays", "growthRate")] == [None] * 4
    # 90d: the last 30 days start mid-day, which a from/to link cannot express: no link
    ninety = query_for(org_a, range="90d")
    assert tab.mrr_href(ninety) is None
    thirty = query_for(org_a, range="30d")
    assert follow(org_a, tab.mrr_href(thirty)) == ["F1", "P1", "R1", "S2", "S3"]  # 1300.50


def test_week_and_filtered_links(org_a, history, frozen):
    query = query_for(org_a, range="30d", period="week", region="North")
    payload = tab.compute(query)
    points = tab.charts(payload, query)["revenue_line"].series[0].points
    linked = {p.label: follow(org_a, p.href) for p in points if p.href}
    # North leads' sales: LN (S1, P3), LQ (S6), LR (B1, F1, P1, R1)
    assert linked == {"16 Feb": ["F1"], "23 Feb": ["B1"], "2 Mar": ["P1", "P3", "S6"]}
    assert all("region=North" in p.href for p in points if p.href)
    context = tab.page_context(payload, query)
    assert follow(org_a, context["cards"][0]["href"]) == ["B1", "F1", "P1", "P3", "R1", "S1", "S6"]
    # a breakdown row replaces the view's own value of its filter and keeps the others
    referrals = query_for(org_a, source="Referrals")
    products = tab.page_context(tab.compute(referrals), referrals)
    rows = next(b for b in products["breakdowns"] if b["key"] == "product-lines")["rows"]
    # Referrals leads' sales: S2, S5 (Basic), S3, S6 (Pro)
    linked_rows = [(r["name"], follow(org_a, r["href"])) for r in rows]
    assert linked_rows == [("Basic", ["S2", "S5"]), ("Pro", ["S3", "S6"])]
    assert all("source=Referrals" in r["href"] for r in rows)


def test_a_months_link_lists_its_local_month(org_a, history, frozen):
    query = query_for(org_a, range="custom", start="2026-02-01", end="2026-02-28", period="month")
    payload = tab.compute(query)
    # R0 700 + F1 500 + R1 50; B1 (28 Feb 22:00 UTC) is 1 Mar in Nairobi
    assert series_of(payload) == [("2026-02-01", "2026-02-28", True, 1250.0, 3)]
    href = tab.charts(payload, query)["revenue_line"].series[0].points[0].href
    assert follow(org_a, href) == ["F1", "R0", "R1"]


# --- the API, the fragment and the page: managers only, one organization ---------------------------------


def test_api_answers_the_payload_to_managers(org_a, manager_a, admin_a, history, api_client_for, frozen):
    response = api_client_for(manager_a).get(URL, {"range": "7d"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body.pop("success") is True
    assert body["kpis"] == EXPECTED_KPIS
    assert body == json.loads(json.dumps(compute(org_a)))
    weekly = api_client_for(admin_a).get(URL, {"range": "7d", "period": "week"})
    assert (weekly.status_code, weekly.json()["period"]) == (200, "week")


def test_api_refuses_agents_and_anonymous(agent_a, history, api_client_for, client, frozen):
    assert api_client_for(agent_a).get(URL).status_code == 403
    assert client.get(URL).status_code == 401


def test_pages_answer_managers_and_refuse_agents(manager_a, agent_a, history, client, frozen):
    client.force_login(agent_a)
    assert client.get("/dashboard/analytics/tab/revenue").status_code == 403
    assert client.get("/dashboard/analytics", {"tab": "revenue"}).status_code == 403
    assert client.get("/dashboard/analytics/export/revenue/kpis.csv").status_code == 403
    client.force_login(manager_a)
    page = client.get("/dashboard/analytics", {"tab": "revenue", "range": "7d"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="revenue-tab"' in html
    assert "KES 2,200.00" in html


def test_another_organizations_sales_are_never_counted(
    org_a, org_b, outsider, manager_a, history, api_client_for, frozen
):
    lead_b = LeadFactory(
        organization=org_b, external_id="GL", region="West", created_at=utc(9, 9), converted_at=utc(10, 9)
    )
    SaleFactory(
        organization=org_b,
        external_id="G1",
        lead=lead_b,
        amount=Decimal("75.00"),
        currency="USD",
        kind="recurring",
        closed_at=utc(12, 9),
        product_line="Widgets",
    )
    SaleFactory(
        organization=org_b, external_id="G2", amount=Decimal("5000.00"), currency="USD", closed_at=utc(12, 10)
    )
    mine = api_client_for(manager_a).get(URL, {"range": "7d"}).json()
    assert mine["kpis"] == EXPECTED_KPIS  # org B's sales change nothing in org A
    theirs = api_client_for(outsider).get(URL, {"range": "7d"}).json()
    assert (theirs["kpis"]["total"], theirs["kpis"]["deals"], theirs["kpis"]["monthlyRecurring"]) == (
        5075.0,
        2,
        75.0,
    )
    assert (theirs["kpis"]["won"], theirs["kpis"]["decided"], theirs["kpis"]["salesCycleDays"]) == (1, 1, 1.0)
    assert [r["region"] for r in theirs["regions"]] == ["(none)", "West"]
    assert (theirs["range"]["timezone"], theirs["range"]["currency"]) == ("UTC", "USD")
    # org A's values are not values of org B: the same answer as values nobody uses
    client = api_client_for(outsider)
    for params, field in (
        ({"region": "North"}, "region"),
        ({"agent": "agent@acme.test"}, "agent"),
        ({"productLine": "Pro"}, "productLine"),
    ):
        refused, unknown = client.get(URL, params), client.get(URL, {field: "never-used"})
        assert (refused.status_code, unknown.status_code) == (400, 400)
        assert list(refused.json()["error"]["details"]) == [field]
    # and org A's drill-down lists none of org B's sales
    query = query_for(org_a)
    for point in tab.charts(tab.compute(query), query)["deal_sizes"].series[0].points:
        assert not {"G1", "G2"} & set(follow(org_a, point.href))


def test_fragment_renders_through_the_shell(org_a, manager_a, history, client, frozen):
    client.force_login(manager_a)
    response = client.get("/dashboard/analytics/tab/revenue", {"range": "7d"})
    assert response.status_code == 200
    assert response["HX-Push-Url"] == "/dashboard/analytics?range=7d&tab=revenue"
    html = response.content.decode()
    for testid in (
        "revenue-tab",
        "revenue-kpis",
        "revenue-line",
        "period-links",
        "forecast-note",
        "deal-sizes",
        "revenue-kinds",
        "revenue-product-lines",
        "revenue-regions",
        "revenue-downloads",
        "revenue-export-series",
        "revenue-export-deal-sizes",
        "revenue-export-kpis",
    ):
        assert f'data-testid="{testid}"' in html, testid
    assert "Dashed: the next 7 days on the straight-line trend of the 6 complete days" in html
    assert "/dashboard/analytics/records/sales?range=7d&amp;from=2026-03-14&amp;to=2026-03-14" in html
    assert "/dashboard/analytics/records/sales?range=7d&amp;dealMin=200&amp;dealMax=400" in html
    assert "/dashboard/analytics/records/sales?range=7d&amp;productLine=Pro" in html
    assert "+16.7 pts" in html  # the win rate's change
    fragment = "/dashboard/analytics/tab/revenue"
    monthly = client.get(fragment, {"range": "30d", "period": "month"}).content.decode()
    assert "No forecast: A forecast needs at least 3 complete months" in monthly
    empty = client.get(fragment, {"range": "custom", "start": "2026-01-01", "end": "2026-01-02"})
    empty = empty.content.decode()
    assert "No sales closed from 01 Jan 2026 to 02 Jan 2026 for these filters" in empty


# --- CSV exports -------------------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_tables(org_a, history, frozen):
    tables = tab.csv_tables(compute(org_a))
    assert set(tables) == {"kpis", "series", "deal-sizes", "kinds", "product-lines", "regions"}
    assert tables["kpis"].header == ("metric", "current", "previous", "change %")
    assert tables["kpis"].rows == (
        ("Revenue", 2200.0, 900.0, 144.4),
        ("Monthly recurring revenue", 550.5, 200.0, 175.3),
        ("One-time revenue", 1649.5, 700.0, 135.6),
        ("Deals", 6, 3, 100.0),
        ("Average deal size", 366.67, 300.0, 22.2),
        ("Win rate % (trend in points)", 66.7, 50.0, 16.7),
        ("Sales cycle (median days)", 5.0, 12.0, -58.3),
        ("Growth rate %", 144.4, None, None),
    )
    series = tables["series"]
    assert series.header == ("bucket", "revenue", "deals", "forecast", "lower", "upper")
    assert series.rows[0] == ("2026-03-08", 200.0, 1, None, None, None)
    assert series.rows[8] == ("2026-03-16", None, None, 50.73, 0.0, 1049.07)  # the first day ahead
    assert len(series.rows) == 8 + 7
    assert tables["deal-sizes"].rows[1] == (200.0, 400.0, 3, 750.5)
    assert tables["deal-sizes"].rows[-1] == (1000.0, None, 1, 1000.0)
    assert tables["regions"].header == ("region", "revenue", "deals", "average deal size", "share %")
    assert tables["regions"].rows == (
        ("North", 1200.0, 2, 600.0, 54.5),
        ("South", 950.5, 3, 316.83, 43.2),
        ("(none)", 49.5, 1, 49.5, 2.3),
    )
    assert tables["kinds"].rows[0] == ("new", 1000.0, 1, 1000.0, 45.5)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("kpis", [["metric", "current", "previous", "change %"], ["Revenue", "2200.0", "900.0", "144.4"]]),
        (
            "series",
            [
                ["bucket", "revenue", "deals", "forecast", "lower", "upper"],
                ["2026-03-08", "200.0", "1", "", "", ""],
            ],
        ),
        ("deal-sizes", [["from", "to", "deals", "revenue"], ["0.0", "200.0", "1", "49.5"]]),
        (
            "product-lines",
            [
                ["product line", "revenue", "deals", "average deal size", "share %"],
                ["Pro", "1500.0", "3", "500.0", "68.2"],
            ],
        ),
        (
            "regions",
            [
                ["region", "revenue", "deals", "average deal size", "share %"],
                ["North", "1200.0", "2", "600.0", "54.5"],
            ],
        ),
        (
            "kinds",
            [
                ["kind", "revenue", "deals", "average deal size", "share %"],
                ["new", "1000.0", "1", "1000.0", "45.5"],
            ],
        ),
    ],
)
def test_csv_export_of_each_table(manager_a, history, client, frozen, table, expected):
    client.force_login(manager_a)
    response = client.get(f"/dashboard/analytics/export/revenue/{table}.csv", {"range": "7d"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="acme-revenue-{table}-7d.csv"'
    rows = read_csv(response)
    assert rows[:2] == expected
    assert len({len(r) for r in rows}) == 1  # every row as wide as the header


def test_csv_export_follows_period_and_filters(manager_a, history, client, frozen):
    client.force_login(manager_a)
    rows = read_csv(
        client.get(
            "/dashboard/analytics/export/revenue/series.csv",
            {"range": "30d", "period": "week", "region": "South"},
        )
    )
    # South: LS (S2, S3), LO (S5), LP (P2): week 2 Mar P2 600, week 9 Mar S5 + S2 + S3 = 950.50
    assert rows[1:6] == [
        ["2026-02-09", "0.0", "0", "", "", ""],
        ["2026-02-16", "0.0", "0", "", "", ""],
        ["2026-02-23", "0.0", "0", "", "", ""],
        ["2026-03-02", "600.0", "1", "", "", ""],
        ["2026-03-09", "950.5", "3", "", "", ""],
    ]
    assert len(rows) == 1 + 5 + 4  # header, 5 weeks, 4 weeks ahead
    assert client.get("/dashboard/analytics/export/revenue/nope.csv").status_code == 404


# --- queries -----------------------------------------------------------------------------------------


def count_queries(org, **params: str) -> int:
    query = query_for(org, **params)
    with CaptureQueriesContext(connection) as ctx:
        tab.compute(query)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("use_rollups", [False, True], ids=["live", "rollups"])
def test_a_bounded_number_of_queries(
    org_a, agent_a, other_agent, history, frozen, use_rollups, django_assert_max_num_queries
):
    params = {"range": "1y", "region": "North"}
    if use_rollups:
        statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    small = count_queries(org_a, **params)
    # fill state 1; KPI totals 1 (+1 rollup); win counts 1; cycle medians 1; line 1 (+1); deal-size
    # extent 1 and buckets 1; three breakdowns 3 (+3)
    assert small == (15 if use_rollups else 10)
    for copy in (1, 2):
        agent = MemberFactory(email=f"a{copy}@acme.test", organization=org_a)
        build_revenue(org_a, agent, other_agent, copy=copy)
    if use_rollups:
        # factories bypass ingestion, which would have marked these days stale
        statistics_mark_stale(Ingested(org_a.pk, "sales", utc(1, 0, month=1), utc(1, 0, month=1), 1))
        statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    query = query_for(org_a, **params)
    with django_assert_max_num_queries(small):
        payload = tab.compute(query)
    # 3 x the North sales of the year: S1, S6, P3, P1, B1, F1, R1, R0 = 2900
    assert (payload["kpis"]["total"], payload["kpis"]["deals"]) == (8700.0, 24)
    assert count_queries(org_a, range="24h") <= small


# --- charts and cards ------------------------------------------------------------------------------


def test_chart_specs(org_a, history, frozen):
    query = query_for(org_a)
    specs = tab.charts(tab.compute(query), query)
    assert {k: type(v) for k, v in specs.items()} == {
        "revenue_line": LineChart,
        "deal_sizes": BarChart,
        "kinds": DonutChart,
        "product-lines": BarChart,
        "regions": BarChart,
    }
    actual, ahead = specs["revenue_line"].series
    assert [p.value for p in actual.points] == [200.0, 400.0, 1000.0, 0.0, 49.5, 0.0, 550.5, 0.0]
    assert (ahead.dashed, [p.label for p in ahead.points][:2]) == (True, ["16 Mar", "17 Mar"])
    band = specs["revenue_line"].band
    assert (band.name, band.points[0].lower, band.points[0].upper) == ("80% prediction interval", 0, 1049.07)
    assert [p.value for p in specs["deal_sizes"].series[0].points] == [1, 3, 1, 0, 0, 1]
    assert specs["deal_sizes"].series[0].points[1].tooltip == "revenue KES 750.50"
    assert [(s.label, s.value) for s in specs["kinds"].slices] == [
        ("New", 1000.0),
        ("Recurring", 550.5),
        ("Upsell", 400.0),
        ("Cross Sell", 200.0),
        ("One Time", 49.5),
    ]
    assert [(p.label, p.value, p.tooltip) for p in specs["regions"].series[0].points] == [
        ("North", 1200.0, "2 deals"),
        ("South", 950.5, "3 deals"),
        ("(none)", 49.5, "1 deal"),
    ]
    for spec in specs.values():
        assert "<svg" in render_svg(spec)


def test_page_context_cards(org_a, history, frozen):
    query = query_for(org_a)
    context = tab.page_context(tab.compute(query), query)
    cards = {c["key"]: c for c in context["cards"]}
    assert list(cards) == [
        "total",
        "monthlyRecurring",
        "oneTime",
        "deals",
        "averageDealSize",
        "winRate",
        "salesCycleDays",
        "growthRate",
    ]
    assert (cards["total"]["value"], cards["total"]["trend"].text, cards["total"]["trend"].sense) == (
        2200.0,
        "+144.4%",
        "good",
    )
    assert (cards["winRate"]["trend"].text, cards["winRate"]["trend"].sense) == ("+16.7 pts", "good")
    assert cards["winRate"]["note"] == "2 won of 3 decided"
    # a shorter cycle is the good news
    cycle = cards["salesCycleDays"]["trend"]
    assert (cycle.text, cycle.sense) == ("-58.3%", "good")
    assert (cards["growthRate"]["trend"], cards["growthRate"]["note"]) == (None, "previous period KES 900.00")
    assert [link["active"] for link in context["period_links"]] == [True, False, False]
    assert context["period_links"][1]["url"] == "/dashboard/analytics?range=7d&tab=revenue&period=week"
    assert context["when"] == "in the last 7 days"


# --- pure arithmetic of insights.metrics.revenue (no database needed) -------------------------------


@pytest.mark.parametrize(
    ("largest", "width"),
    [
        ("0", 1),  # 10 x 1 > 0
        ("7.25", 1),
        ("9.99", 1),
        ("10", 2),  # 10 x 1 is not above 10
        ("49.99", 5),
        ("50", 10),
        ("999", 100),
        ("1000", 200),
        ("1999.99", 200),
        ("2000", 500),
        ("123456", 20000),
    ],
)
def test_nice_width(largest, width):
    assert calc.nice_width(Decimal(largest)) == width


def test_deal_size_buckets_and_labels():
    width, buckets = calc.deal_size_buckets(largest=Decimal("1000"), has_negative=True)
    assert width == 200
    # below 0, then 1000 // 200 + 1 = 6 bands from 0, the last open above
    assert [(b.low, b.high) for b in buckets] == [
        (None, 0),
        (0, 200),
        (200, 400),
        (400, 600),
        (600, 800),
        (800, 1000),
        (1000, None),
    ]
    assert [calc.deal_bucket_label(b, width) for b in buckets] == [
        "below 0",
        "0–200",
        "200–400",
        "400–600",
        "600–800",
        "800–1k",
        "1k–1.2k",
    ]
    assert calc.deal_size_buckets(largest=None, has_negative=False) == (None, [])
    assert calc.deal_size_buckets(largest=Decimal("-5"), has_negative=True) == (
        None,
        [calc.DealBucket(None, Decimal(0))],
    )
    assert [calc.amount_param(Decimal(v)) for v in ("200.00", "0", "1234.5", "99.999")] == [
        "200",
        "0",
        "1234.5",
        "100",
    ]
    assert calc.deal_bucket_label(calc.DealBucket(Decimal(2500000), None), Decimal(500000)) == "2.5M–3M"


@pytest.mark.parametrize(
    ("middle", "expected"),
    [
        ([], None),
        ([dt.timedelta(days=5)], Decimal(5)),
        ([dt.timedelta(days=4, hours=12), dt.timedelta(days=5)], Decimal("4.75")),  # (4.5 + 5) / 2
        ([dt.timedelta(hours=6), dt.timedelta(hours=7)], Decimal("0.2708333333333333333333333333")),  # 6.5 h
    ],
)
def test_median_days(middle, expected):
    assert calc.median_days(middle) == expected


@pytest.mark.parametrize(
    ("counts", "rate", "change"),
    [
        ((2, 3, 1, 2), 66.7, 16.7),  # 66.67 - 50.00 points
        ((1, 4, 1, 2), 25.0, -25.0),  # 25 - 50
        ((0, 1, 0, 1), 0.0, 0.0),
        ((1, 1, 0, 0), 100.0, None),  # nothing decided before: no change
        ((0, 0, 1, 2), None, None),  # nothing decided now: no rate
    ],
)
def test_win_rate_and_its_change_in_points(counts, rate, change):
    won, decided, won_before, decided_before = counts
    assert calc.win_rate(won=won, decided=decided) == rate
    assert (
        calc.win_rate_change(won=won, decided=decided, won_before=won_before, decided_before=decided_before)
        == change
    )


def test_buckets_and_labels():
    assert [calc.default_period(d) for d in (1, 7, 30, 90, 90.5, 365)] == ["day"] * 4 + ["week"] * 2
    assert calc.bucket_starts(dt.date(2026, 2, 27), dt.date(2026, 3, 2), "week") == [
        dt.date(2026, 2, 23),
        dt.date(2026, 3, 2),
    ]
    assert calc.bucket_starts(dt.date(2025, 12, 31), dt.date(2026, 2, 1), "month") == [
        dt.date(2025, 12, 1),
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
    ]
    assert calc.following_buckets(dt.date(2026, 11, 1), "month", 3) == [
        dt.date(2026, 12, 1),
        dt.date(2027, 1, 1),
        dt.date(2027, 2, 1),
    ]
    assert calc.bucket_last_day(dt.date(2024, 2, 1), "month") == dt.date(2024, 2, 29)  # a leap year
    assert calc.bucket_labels([dt.date(2026, 3, 9), dt.date(2026, 3, 16)], "week") == ["9 Mar", "16 Mar"]
    assert calc.bucket_labels([dt.date(2025, 12, 29), dt.date(2026, 1, 5)], "day") == [
        "29 Dec 2025",
        "5 Jan 2026",
    ]


def test_breakdown_rows_merge_empty_and_missing():
    grouped = {
        "Pro": {"amount_sum": Decimal("300.00"), "count": 2},
        "": {"amount_sum": Decimal("50.00"), "count": 1},  # the rollup stores empty as ""
        None: {"amount_sum": Decimal("50.00"), "count": 1},  # the raw table has NULL
        "Zero": {"amount_sum": Decimal(0), "count": 0},  # nothing counted: no row
    }
    assert calc.breakdown_rows(grouped, total=Decimal(400), key="region") == [
        {"region": "Pro", "revenue": 300.0, "deals": 2, "share": 75.0, "averageDealSize": 150.0},
        {"region": "(none)", "revenue": 100.0, "deals": 2, "share": 25.0, "averageDealSize": 50.0},
    ]
