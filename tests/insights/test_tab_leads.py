"""The Leads tab (insights.tabs.leads) on a small hand-built history.

Organization A is in Africa/Nairobi (UTC+3, no DST). AS_OF = Sun 15 Mar 2026 12:00 UTC
(15:00 local). 30d: W = [13 Feb 12:00, 15 Mar 12:00) UTC = [Fri 13 Feb 15:00, Sun 15 Mar
15:00) local; previous = [14 Jan 12:00, 13 Feb 12:00) UTC. Local Monday 00:00 = Sunday 21:00
UTC. Days after creation in brackets (d).

    lead src        region agent score value created (UTC)     contacted interested converted  lost
    L1   Ads        North  A     85    1000  Mon 16 Feb 09:00  +1d       +3d        +5.5d
    L2   Ads        North  A     40     500  Tue 17 Feb 09:00  +2d       +6d        +10d
    L3   Referrals  South  B     100   2000  Sun 22 Feb 20:59  +0.5d     -          +7d exactly
    L4   Ads        South  B     -      300  Sun 22 Feb 21:00  +2d       -          -          +7d
    L5   Referrals  North  A     5      700  Tue 3 Mar 09:00   -         -          -
    L6   ""         North  A     60     400  Tue 10 Mar 09:00  +0.5d     +1d        +2d
    L7   Ads        North  B     65     600  Fri 13 Feb 13:00  +1.5d     -          -
    P1   Ads        North  A     70     900  Tue 20 Jan 09:00  -         +2d        +5d        (previous W)
    P2   Referrals  South  B     50     250  Fri 13 Feb 11:00  -         -          -          (previous W)
    O1   Ads        North  A     -      150  Thu 1 Jan 09:00   -         -          -          (before both)

L3 is 23:59 on Sunday 22 Feb local (week of 16 Feb), L4 00:00 on Monday 23 Feb local (week
of 23 Feb); L7 falls in the week of 9 Feb, which W starts inside. L3 converted without an
interested_at: it counts as converted, not as interested.

    sale lead amount   currency kind       closed (UTC)    agent
    S1   L1   1200.00  KES      new        22 Feb 10:00    A
    S2   L1    300.00  KES      recurring  14 Mar 09:00    A
    S3   L2    500.00  KES      new        28 Feb 10:00    B  (the lead's agent is A)
    S4   L3    800.00  USD      new         2 Mar 10:00    B  (another currency: never counted)
    S5   L6    250.50  KES      new        12 Mar 10:00    A
    S6   P1    999.00  KES      new        20 Feb 10:00    A  (closed in W, lead created before W)
    S7   -     100.00  KES      new         1 Mar 10:00    A  (no lead)
    S8   L3    400.00  ""       new         5 Mar 10:00    B  (no currency: counted)
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.stats.refresh import statistics_refresh
from core.timeranges import Window
from crm.models import Role
from insights import analytics
from insights.metrics import leads as calc
from insights.selectors import leads as lead_reads
from insights.selectors import records
from insights.services import insights_rollups_rebuild
from insights.tabs import DashboardQuery, parse_tab_query
from insights.tabs import leads as tab
from insights.tabs.present import leads as leads_present
from reports.charts import BarChart, FunnelChart, HeatmapChart, render_svg
from tests.factories import LeadFactory, MemberFactory, SaleFactory
from tests.insights.factories import AS_OF

pytestmark = pytest.mark.django_db
URL = "/api/analytics/tabs/leads"
FRAGMENT = "/dashboard/analytics/tab/leads"
DAY = dt.timedelta(days=1)


def utc(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def build_leads(org, agent, other, *, copy: int = 0) -> dict:
    """The table above; `copy` builds an independent copy (other ids) for the query counts."""
    p = f"x{copy}-" if copy else ""

    def lead(
        ext,
        source,
        region,
        member,
        score,
        value,
        created,
        contacted=None,
        interested=None,
        converted=None,
        lost=None,
    ):
        return LeadFactory(
            organization=org,
            external_id=p + ext,
            source=source,
            region=region,
            product_line="Pro",
            assigned_agent=member,
            score=score,
            estimated_value=Decimal(value),
            created_at=created,
            contacted_at=contacted and created + contacted,
            interested_at=interested and created + interested,
            converted_at=converted and created + converted,
            lost_at=lost and created + lost,
        )

    leads = {
        "L1": lead("L1", "Ads", "North", agent, 85, 1000, utc(2, 16, 9), DAY, 3 * DAY, 5.5 * DAY),
        "L2": lead("L2", "Ads", "North", agent, 40, 500, utc(2, 17, 9), 2 * DAY, 6 * DAY, 10 * DAY),
        "L3": lead("L3", "Referrals", "South", other, 100, 2000, utc(2, 22, 20, 59), DAY / 2, None, 7 * DAY),
        "L4": lead("L4", "Ads", "South", other, None, 300, utc(2, 22, 21), 2 * DAY, lost=7 * DAY),
        "L5": lead("L5", "Referrals", "North", agent, 5, 700, utc(3, 3, 9)),
        "L6": lead("L6", "", "North", agent, 60, 400, utc(3, 10, 9), DAY / 2, DAY, 2 * DAY),
        "L7": lead("L7", "Ads", "North", other, 65, 600, utc(2, 13, 13), 1.5 * DAY),
        "P1": lead("P1", "Ads", "North", agent, 70, 900, utc(1, 20, 9), None, 2 * DAY, 5 * DAY),
        "P2": lead("P2", "Referrals", "South", other, 50, 250, utc(2, 13, 11)),
        "O1": lead("O1", "Ads", "North", agent, None, 150, utc(1, 1, 9)),
    }
    sales = [
        ("S1", "L1", "1200.00", "KES", "new", utc(2, 22, 10), agent),
        ("S2", "L1", "300.00", "KES", "recurring", utc(3, 14, 9), agent),
        ("S3", "L2", "500.00", "KES", "new", utc(2, 28, 10), other),
        ("S4", "L3", "800.00", "USD", "new", utc(3, 2, 10), other),
        ("S5", "L6", "250.50", "KES", "new", utc(3, 12, 10), agent),
        ("S6", "P1", "999.00", "KES", "new", utc(2, 20, 10), agent),
        ("S7", None, "100.00", "KES", "new", utc(3, 1, 10), agent),
        ("S8", "L3", "400.00", "", "new", utc(3, 5, 10), other),
    ]
    for ext, lead_key, amount, currency, kind, closed, member in sales:
        SaleFactory(
            organization=org,
            external_id=p + ext,
            lead=leads[lead_key] if lead_key else None,
            amount=Decimal(amount),
            currency=currency,
            kind=kind,
            closed_at=closed,
            agent=member,
            product_line="Pro",
        )
    return leads


@pytest.fixture
def frozen():
    with time_machine.travel(AS_OF, tick=False):
        yield


@pytest.fixture
def other_agent(org_a):
    return MemberFactory(email="bea@acme.test", organization=org_a, role=Role.AGENT)


@pytest.fixture
def history(org_a, agent_a, other_agent):
    return build_leads(org_a, agent_a, other_agent)


def query_for(org, **params: str) -> DashboardQuery:
    return parse_tab_query(tab="leads", organization=org, params={"range": "30d", **params}, as_of=AS_OF)


def compute(org, **params: str) -> dict:
    return tab.compute(query_for(org, **params))


def ids(qs) -> list[str]:
    return sorted(qs.values_list("external_id", flat=True))


def follow(org, href: str) -> list[str]:
    return ids(records.records_for_url(org, href, AS_OF))


# --- every number on the small data -----------------------------------------------------------

EXPECTED_CURRENT = {
    "total": 7,  # L1-L7 created in W
    "qualified": 3,  # interested_at set: L1, L2, L6
    "conversionRate": 57.1,  # converted L1, L2, L3, L6: 4/7 = 57.14
    "averageScore": 59.2,  # (85+40+100+5+60+65) = 355 over 6 scored (L4 has none) = 59.17
    # open at 15 Mar 12:00 UTC: L5 700 + L7 600 + P2 250 + O1 150 (L4 lost, the others converted)
    "pipelineValue": 1700.0,
}
EXPECTED_PREVIOUS = {
    "total": 2,  # P1, P2
    "qualified": 1,  # P1
    "conversionRate": 50.0,  # P1: 1/2
    "averageScore": 60.0,  # (70 + 50) / 2
    "pipelineValue": 400.0,  # open at 13 Feb 12:00 UTC: P2 250 + O1 150 (P1 converted 25 Jan; L7 not yet)
}
EXPECTED_CHANGES = {
    "total": 250.0,  # (7 - 2) / 2
    "qualified": 200.0,  # (3 - 1) / 1
    "conversionRate": 7.1,  # points: 57.14 - 50.0
    "averageScore": -1.4,  # (59.1667 - 60) / 60 = -1.39%
    "pipelineValue": 325.0,  # (1700 - 400) / 400
}


def test_kpis_against_the_previous_window(org_a, history, frozen):
    kpis = compute(org_a)["kpis"]
    assert kpis["current"] == EXPECTED_CURRENT
    assert kpis["previous"] == EXPECTED_PREVIOUS
    assert kpis["changes"] == EXPECTED_CHANGES


def test_kpis_are_the_overviews_leads_block(org_a, history, frozen):
    query = query_for(org_a)
    request = analytics.OverviewRequest(
        window=query.window, range_key=query.range_key, metrics=("leads",), filters=query.filters
    )
    overview = analytics.compute_overview(organization=org_a, request=request)
    kpis = tab.compute(query)["kpis"]
    assert overview["comparisons"]["leads"] == {"current": kpis["current"], "previous": kpis["previous"]}
    assert overview["trends"]["leads"] == kpis["changes"]["total"]


def test_range_block(org_a, history, frozen):
    assert compute(org_a)["range"] == {
        "label": "30d",
        "start": "2026-02-13T12:00:00+00:00",
        "end": "2026-03-15T12:00:00+00:00",
        "previousStart": "2026-01-14T12:00:00+00:00",
        "timezone": "Africa/Nairobi",
        "currency": "KES",
    }


def test_funnel_counts_and_stage_to_stage_rates(org_a, history, frozen):
    funnel = compute(org_a)["funnel"]
    assert funnel["stages"] == [
        {
            "stage": "created",
            "label": "Created",
            "leads": 7,
            "rateFromPrevious": None,
            "rateFromCreated": 100.0,
        },
        # L1, L2, L3, L4, L6, L7: 6/7 = 85.71
        {
            "stage": "contacted",
            "label": "Contacted",
            "leads": 6,
            "rateFromPrevious": 85.7,
            "rateFromCreated": 85.7,
        },
        # L1, L2, L6: 3/6 = 50.0; 3/7 = 42.86
        {
            "stage": "interested",
            "label": "Interested",
            "leads": 3,
            "rateFromPrevious": 50.0,
            "rateFromCreated": 42.9,
        },
        # L1, L2, L3, L6: 4/3 = 133.33 (L3 skipped interested: each stage is its own milestone); 4/7
        {
            "stage": "converted",
            "label": "Converted",
            "leads": 4,
            "rateFromPrevious": 133.3,
            "rateFromCreated": 57.1,
        },
    ]
    assert funnel["lost"] == 1  # L4


def test_score_histogram_with_the_no_score_bar(org_a, history, frozen):
    scores = compute(org_a)["scores"]
    assert [b["label"] for b in scores] == [
        "0–9",
        "10–19",
        "20–29",
        "30–39",
        "40–49",
        "50–59",
        "60–69",
        "70–79",
        "80–89",
        "90–100",
        "No score",
    ]
    busy = {
        b["label"]: (b["leads"], b["share"], b["converted"], b["conversionRate"])
        for b in scores
        if b["leads"]
    }
    assert busy == {
        "0–9": (1, 14.3, 0, 0.0),  # L5 (5): 1/7 = 14.29
        "40–49": (1, 14.3, 1, 100.0),  # L2 (40), converted
        "60–69": (2, 28.6, 1, 50.0),  # L6 (60, converted), L7 (65): 2/7 = 28.57
        "80–89": (1, 14.3, 1, 100.0),  # L1 (85)
        "90–100": (1, 14.3, 1, 100.0),  # L3 (100: the last band includes it)
        "No score": (1, 14.3, 0, 0.0),  # L4
    }
    empty = next(b for b in scores if b["label"] == "10–19")
    assert (empty["min"], empty["max"], empty["share"], empty["conversionRate"]) == (10, 19, 0.0, None)
    assert (scores[-1]["min"], scores[-1]["max"], scores[-2]["max"]) == (None, None, 100)
    assert sum(b["leads"] for b in scores) == EXPECTED_CURRENT["total"]


def test_source_performance(org_a, history, frozen):
    payload = compute(org_a)
    assert payload["sources"] == [
        # L1, L2, L4, L7; converted L1 (5.5 d), L2 (10 d): mean 7.75 -> 7.8;
        # revenue S1 1200 + S2 300 + S3 500 (S3's agent is B: the lead is what counts)
        {
            "source": "Ads",
            "leads": 4,
            "converted": 2,
            "conversionRate": 50.0,
            "revenue": 2000.0,
            "sales": 3,
            "averageDaysToConvert": 7.8,
        },
        # L3, L5; L3 converted after 7 d; S8 400 (no currency); S4 is in USD: left out
        {
            "source": "Referrals",
            "leads": 2,
            "converted": 1,
            "conversionRate": 50.0,
            "revenue": 400.0,
            "sales": 1,
            "averageDaysToConvert": 7.0,
        },
        # L6 (empty source), 2 d; S5 250.50
        {
            "source": "(none)",
            "leads": 1,
            "converted": 1,
            "conversionRate": 100.0,
            "revenue": 250.5,
            "sales": 1,
            "averageDaysToConvert": 2.0,
        },
    ]
    # S6 (P1, created before W) and S7 (no lead) are no lead of W's: 2000 + 400 + 250.50
    assert payload["sourceTotals"] == {
        "source": "All sources",
        "leads": 7,
        "converted": 4,
        "conversionRate": 57.1,
        "revenue": 2650.5,
        "sales": 5,
        "averageDaysToConvert": 6.1,  # (5.5 + 10 + 7 + 2) / 4 = 6.125
    }


def test_velocity_medians_odd_and_even(org_a, history, frozen):
    assert compute(org_a)["velocity"] == [
        # L3 0.5, L6 0.5, L1 1, L7 1.5, L2 2, L4 2: six, middles 1 and 1.5 -> 1.25 -> 1.3
        {
            "key": "createdToContacted",
            "from": "created",
            "to": "contacted",
            "label": "Created → Contacted",
            "leads": 6,
            "medianDays": 1.3,
        },
        # L6 0.5 (10 Mar 21:00 -> 11 Mar 09:00), L1 2, L2 4: three, middle 2
        {
            "key": "contactedToInterested",
            "from": "contacted",
            "to": "interested",
            "label": "Contacted → Interested",
            "leads": 3,
            "medianDays": 2.0,
        },
        # L6 1, L1 2.5, L2 4 (L3 has no interested_at): middle 2.5
        {
            "key": "interestedToConverted",
            "from": "interested",
            "to": "converted",
            "label": "Interested → Converted",
            "leads": 3,
            "medianDays": 2.5,
        },
        # L6 2, L1 5.5, L3 7, L2 10: four, middles 5.5 and 7 -> 6.25 -> 6.3
        {
            "key": "createdToConverted",
            "from": "created",
            "to": "converted",
            "label": "Created → Converted",
            "leads": 4,
            "medianDays": 6.3,
        },
    ]


def _cells(week: dict) -> list:
    return [(c["days"], c["mature"], c["converted"], c["share"]) for c in week["cells"]]


def test_weekly_cohorts_with_immature_cells(org_a, history, frozen):
    cohorts = compute(org_a)["cohorts"]
    assert cohorts["horizons"] == [7, 14, 28, 56]
    weeks = cohorts["weeks"]
    # Mondays 00:00 local in W: 16 Feb (15 Feb 21:00 UTC) .. 9 Mar; 9 Feb 00:00 is before W starts
    assert [(w["week"], w["label"], w["leads"], w["complete"]) for w in weeks] == [
        ("2026-02-16", "16 Feb 2026", 3, True),  # L1, L2, L3 (Sunday 23:59 local); not L7 (week of 9 Feb)
        ("2026-02-23", "23 Feb 2026", 1, True),  # L4 (Monday 00:00 local)
        ("2026-03-02", "2 Mar 2026", 1, True),  # L5
        ("2026-03-09", "9 Mar 2026", 1, False),  # L6; the week ends 16 Mar 00:00 local, after AS_OF
    ]
    # The week of 16 Feb ends 23 Feb 00:00 local = 22 Feb 21:00 UTC: +7 d = 1 Mar, +14 d = 8 Mar (both
    # before AS_OF), +28 d = 22 Mar (not yet). Within 7 d: L1 (5.5 d); L3 is exactly 7 d: not within.
    assert _cells(weeks[0]) == [
        (7, True, 1, 33.3),
        (14, True, 3, 100.0),
        (28, False, None, None),
        (56, False, None, None),
    ]
    # The week of 23 Feb ends 1 Mar 21:00 UTC: +7 d = 8 Mar 21:00 (mature, L4 never converted), +14 d =
    # 15 Mar 21:00 UTC, nine hours after AS_OF: immature, not 0%
    assert _cells(weeks[1]) == [
        (7, True, 0, 0.0),
        (14, False, None, None),
        (28, False, None, None),
        (56, False, None, None),
    ]
    assert all(not c["mature"] for w in weeks[2:] for c in w["cells"])


def test_long_horizons_mature_on_a_longer_range(org_a, history, frozen):
    # 90d: W = [15 Dec 2025 12:00, 15 Mar 12:00) UTC; 15 Dec is a Monday W starts inside (15:00
    # local): the first cohort is 22 Dec, then twelve weeks to 9 Mar.
    weeks = compute(org_a, range="90d")["cohorts"]["weeks"]
    assert (len(weeks), weeks[0]["week"], weeks[-1]["week"]) == (12, "2025-12-22", "2026-03-09")
    by_week = {w["week"]: w for w in weeks}
    # O1 (Thu 1 Jan): its week ends 5 Jan 00:00 local; + 56 d = 2 Mar: every horizon is mature, 0%
    assert _cells(by_week["2025-12-29"]) == [
        (7, True, 0, 0.0),
        (14, True, 0, 0.0),
        (28, True, 0, 0.0),
        (56, True, 0, 0.0),
    ]
    # P1 (20 Jan, converted after 5 d): the week ends 25 Jan 21:00 UTC; + 56 d = 22 Mar: not yet
    assert _cells(by_week["2026-01-19"]) == [
        (7, True, 1, 100.0),
        (14, True, 1, 100.0),
        (28, True, 1, 100.0),
        (56, False, None, None),
    ]
    # a mature week without a lead: no share over nothing
    assert _cells(by_week["2026-01-05"])[0] == (7, True, 0, None)
    # P2 (13 Feb 11:00 UTC) and L7 are the week of 9 Feb, whole here
    assert by_week["2026-02-09"]["leads"] == 2


def test_week_boundaries_follow_the_organizations_zone(org_b, outsider, frozen):
    # The same leads in a UTC organization: L4 (22 Feb 21:00 UTC) is a Sunday there, so the
    # week of 16 Feb holds L1-L4 and the week of 23 Feb is empty (mature: no share, not 0%).
    build_leads(org_b, outsider, MemberFactory(email="b2@globex.test", organization=org_b))
    weeks = compute(org_b)["cohorts"]["weeks"]
    assert [(w["week"], w["leads"]) for w in weeks] == [
        ("2026-02-16", 4),
        ("2026-02-23", 0),
        ("2026-03-02", 1),
        ("2026-03-09", 1),
    ]
    # 16 Feb week ends 23 Feb 00:00 UTC; + 7 d = 2 Mar: L1 within 7 d of 4 -> 25.0%; + 14 d = 9 Mar:
    # L1, L2, L3 -> 75.0%; + 28 d = 23 Mar: not yet
    assert _cells(weeks[0])[:3] == [(7, True, 1, 25.0), (14, True, 3, 75.0), (28, False, None, None)]
    # the empty week ends 2 Mar 00:00 UTC: + 7 d is past (no lead: no share), + 14 d = 16 Mar is not
    assert _cells(weeks[1])[:2] == [(7, True, 0, None), (14, False, None, None)]


def test_empty_window_gives_zeros_and_nulls(org_a, history, frozen):
    # 24h: [14 Mar 12:00, 15 Mar 12:00) UTC: no lead created; no Monday 00:00 local inside
    payload = compute(org_a, range="24h")
    assert payload["kpis"]["current"] == {
        "total": 0,
        "qualified": 0,
        "conversionRate": None,
        "averageScore": None,
        "pipelineValue": 1700.0,  # a point in time: still the open leads at the end of W
    }
    assert payload["kpis"]["changes"]["total"] is None  # nothing created in the previous 24 hours either
    assert [s["leads"] for s in payload["funnel"]["stages"]] == [0, 0, 0, 0]
    assert all(s["rateFromCreated"] is None for s in payload["funnel"]["stages"])
    assert all(b["leads"] == 0 and b["share"] is None for b in payload["scores"])
    assert payload["sources"] == []
    assert payload["sourceTotals"] == {
        "source": "All sources",
        "leads": 0,
        "converted": 0,
        "conversionRate": None,
        "revenue": 0.0,
        "sales": 0,
        "averageDaysToConvert": None,
    }
    assert [(v["leads"], v["medianDays"]) for v in payload["velocity"]] == [(0, None)] * 4
    assert payload["cohorts"]["weeks"] == []


# --- filters, rollups --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # L1, L2, L4, L7: converted L1, L2; scores 85, 40, 65 = 190 / 3; open at the end L7 600 + O1 150
        (
            {"source": "Ads"},
            {
                "total": 4,
                "qualified": 2,
                "conversionRate": 50.0,
                "averageScore": 63.3,
                "pipelineValue": 750.0,
            },
        ),
        # L1, L2, L5, L6: converted L1, L2, L6; (85 + 40 + 5 + 60) / 4 = 47.5; open L5 700 + O1 150
        (
            {"agent": "agent@acme.test"},
            {
                "total": 4,
                "qualified": 3,
                "conversionRate": 75.0,
                "averageScore": 47.5,
                "pipelineValue": 850.0,
            },
        ),
        # L3, L4: converted L3; score 100 only; open P2 250
        (
            {"region": "South"},
            {
                "total": 2,
                "qualified": 0,
                "conversionRate": 50.0,
                "averageScore": 100.0,
                "pipelineValue": 250.0,
            },
        ),
    ],
    ids=["source", "agent", "region"],
)
def test_filters_narrow_every_number(org_a, history, frozen, filters, expected):
    payload = compute(org_a, **filters)
    assert payload["kpis"]["current"] == expected
    total = expected["total"]
    # every breakdown adds up to the filtered total
    assert payload["funnel"]["stages"][0]["leads"] == total
    assert sum(b["leads"] for b in payload["scores"]) == total
    assert sum(r["leads"] for r in payload["sources"]) == payload["sourceTotals"]["leads"] == total


def test_filtered_sources_and_revenue(org_a, history, frozen):
    by_agent = compute(org_a, agent="agent@acme.test")
    # the lead's agent decides: S3 (sold by B) is revenue of L2, agent A's lead
    assert [(r["source"], r["leads"], r["revenue"], r["sales"]) for r in by_agent["sources"]] == [
        ("Ads", 2, 2000.0, 3),  # L1, L2: S1, S2, S3
        ("(none)", 1, 250.5, 1),  # L6: S5
        ("Referrals", 1, 0.0, 0),  # L5
    ]
    south = compute(org_a, region="South")
    assert [(r["source"], r["leads"], r["converted"], r["revenue"]) for r in south["sources"]] == [
        ("Ads", 1, 0, 0.0),  # L4
        ("Referrals", 1, 1, 400.0),  # L3: S8
    ]
    # L3 only reached contacted and converted
    assert [(v["leads"], v["medianDays"]) for v in south["velocity"]] == [
        (2, 1.3),
        (0, None),
        (0, None),
        (1, 7.0),
    ]
    # L3 (Sun 23:59 local) and L4 (Mon 00:00 local) sit on either side of the week boundary
    assert [(w["week"], w["leads"]) for w in south["cohorts"]["weeks"]][:2] == [
        ("2026-02-16", 1),
        ("2026-02-23", 1),
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"range": "24h"},
        {"range": "7d"},
        {"range": "30d"},
        {"range": "1y"},
        {"range": "custom", "start": "2026-02-22", "end": "2026-02-23"},
        {"range": "custom", "start": "2026-02-16", "end": "2026-03-14"},
        {"range": "30d", "region": "North"},
    ],
    ids=["24h", "7d", "30d", "1y", "custom-boundary", "custom-4w", "30d-north"],
)
def test_rollup_path_equals_raw_path(org_a, history, frozen, params):
    live = compute(org_a, **params)
    statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)  # trusted through 14 Mar local
    cache.clear()
    assert compute(org_a, **params) == live


def test_custom_range_from_a_monday_keeps_its_first_week(org_a, history, frozen):
    # 16 Feb .. 14 Mar local: W starts at Monday 00:00, so the week of 16 Feb is a cohort
    payload = compute(org_a, range="custom", start="2026-02-16", end="2026-03-14")
    assert [w["week"] for w in payload["cohorts"]["weeks"]] == [
        "2026-02-16",
        "2026-02-23",
        "2026-03-02",
        "2026-03-09",
    ]
    # L7 (13 Feb) is out; L1-L6 in
    assert payload["kpis"]["current"]["total"] == 6


# --- speed ----------------------------------------------------------------------------------------


def count_queries(org, **params: str) -> int:
    query = query_for(org, **params)
    with CaptureQueriesContext(connection) as ctx:
        tab.compute(query)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("use_rollups", [False, True], ids=["live", "rollups"])
def test_fixed_number_of_queries(
    org_a, agent_a, other_agent, history, frozen, use_rollups, django_assert_max_num_queries
):
    params = {"range": "90d", "region": "North"}
    if use_rollups:
        statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    small = count_queries(org_a, **params)
    # fill state + KPI totals (rollup days and the live rest, or all live) + pipeline (value
    # entered and value left, each rollup days and the live rest, or all live) + per source +
    # revenue + velocity + cohorts
    assert small == (11 if use_rollups else 8)
    for copy in (1, 2):
        build_leads(
            org_a, MemberFactory(email=f"a{copy}@acme.test", organization=org_a), other_agent, copy=copy
        )
    if use_rollups:
        # factories do not mark days stale as ingestion does: rebuild the filled days outright
        insights_rollups_rebuild(
            organization=org_a, first_day=dt.date(2025, 12, 1), last_day=dt.date(2026, 3, 14)
        )
    query = query_for(org_a, **params)  # parsing checks the filter values: not compute()'s queries
    with django_assert_max_num_queries(small):
        payload = tab.compute(query)
    assert payload["kpis"]["current"]["total"] == 3 * 7  # 3 x (L1, L2, L5, L6, L7, P1, O1) in the North
    assert count_queries(org_a, range="24h") <= small - 1  # no Monday in 24 hours: no cohort query


# --- the API ------------------------------------------------------------------------------------


def test_api_answers_the_payload_to_managers(org_a, manager_a, history, api_client_for, frozen):
    response = api_client_for(manager_a).get(URL, {"range": "30d"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    assert body["kpis"]["current"] == EXPECTED_CURRENT
    assert body == {"success": True, **compute(org_a)}


def test_api_refuses_agents_and_anonymous(agent_a, history, api_client_for, client, frozen):
    assert api_client_for(agent_a).get(URL).status_code == 403
    assert client.get(URL).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"range": "2w"}, "range"),
        ({"range": "custom", "start": "2026-03-20", "end": "2026-03-01"}, "start"),
        ({"source": "Billboards"}, "source"),
        ({"agent": "nobody@acme.test"}, "agent"),
    ],
)
def test_api_bad_parameters_are_400s_naming_them(manager_a, history, api_client_for, frozen, params, field):
    response = api_client_for(manager_a).get(URL, params)
    assert response.status_code == 400, response.content
    assert field in response.content.decode()


def test_another_organizations_leads_are_invisible(org_a, org_b, outsider, history, api_client_for, frozen):
    LeadFactory(
        organization=org_b,
        external_id="B1",
        source="Fair",
        score=20,
        estimated_value=Decimal(10),
        created_at=utc(3, 10, 9),
        converted_at=utc(3, 11, 9),
    )
    body = api_client_for(outsider).get(URL, {"range": "30d"}).json()
    assert body["kpis"]["current"] == {
        "total": 1,
        "qualified": 0,
        "conversionRate": 100.0,
        "averageScore": 20.0,
        "pipelineValue": 0.0,
    }
    assert [(r["source"], r["leads"], r["revenue"]) for r in body["sources"]] == [("Fair", 1, 0.0)]
    assert body["range"]["currency"] == "USD"
    # an org_a source is not a value of org_b
    assert api_client_for(outsider).get(URL, {"source": "Ads"}).status_code == 400


# --- charts, tables, page -------------------------------------------------------------------------


def test_charts_specs_values_and_links(org_a, history, frozen):
    query = query_for(org_a)
    specs = tab.charts(tab.compute(query), query)
    assert {k: type(v) for k, v in specs.items()} == {
        "funnel": FunnelChart,
        "scores": BarChart,
        "source_leads": BarChart,
        "source_conversion": BarChart,
        "velocity": BarChart,
        "cohorts": HeatmapChart,
    }
    assert [(p.label, p.value) for p in specs["funnel"].stages] == [
        ("Created", 7),
        ("Contacted", 6),
        ("Interested", 3),
        ("Converted", 4),
    ]
    assert specs["funnel"].stages[0].href == "/dashboard/analytics/records/leads?range=30d"
    assert specs["funnel"].stages[3].href == "/dashboard/analytics/records/leads?range=30d&stage=converted"
    scores = specs["scores"].series[0].points
    assert [p.value for p in scores] == [1, 0, 0, 0, 1, 0, 2, 0, 1, 1, 1]
    assert scores[9].href.endswith("?range=30d&scoreMin=90&scoreMax=100")
    assert scores[10].href.endswith("?range=30d&noScore=1")
    assert [(p.label, p.value) for p in specs["source_leads"].series[0].points] == [
        ("Ads", 4),
        ("Referrals", 2),
        ("(none)", 1),
    ]
    assert specs["source_leads"].series[0].points[2].href is None  # "" would mean every source
    assert [p.value for p in specs["source_conversion"].series[0].points] == [50.0, 50.0, 100.0]
    assert (
        specs["source_conversion"].series[0].points[0].href.endswith("?range=30d&source=Ads&stage=converted")
    )
    assert [p.value for p in specs["velocity"].series[0].points] == [1.3, 2.0, 2.5, 6.3]
    assert specs["velocity"].series[0].points[1].href.endswith("?range=30d&reached=contacted%2Cinterested")
    heat = specs["cohorts"]
    assert heat.x_labels == ("1 week", "2 weeks", "4 weeks", "8 weeks")
    assert heat.y_labels == ("16 Feb 2026", "23 Feb 2026", "2 Mar 2026", "9 Mar 2026")
    assert heat.cells[0] == (33.3, 100.0, None, None)
    assert heat.hrefs[0][0].endswith("?range=30d&cohortWeek=2026-02-16&convertedWithinDays=7")
    assert heat.hrefs[1][0] is None  # 0%: nothing to list
    assert heat.hrefs[0][2] is None  # immature
    for spec in specs.values():
        assert render_svg(spec)  # every spec renders


def test_charts_of_an_empty_window_render(org_a, frozen):
    query = query_for(org_a, range="24h")
    for spec in tab.charts(tab.compute(query), query).values():
        assert render_svg(spec)


def test_links_keep_the_filters(org_a, history, frozen):
    query = query_for(org_a, region="North")
    specs = tab.charts(tab.compute(query), query)
    assert all("region=North" in p.href for p in specs["funnel"].stages)
    assert all("region=North" in p.href for p in specs["scores"].series[0].points)


def test_csv_tables(org_a, history, frozen):
    tables = tab.csv_tables(compute(org_a))
    assert set(tables) == {"kpis", "funnel", "scores", "sources", "velocity", "cohorts"}
    assert all(re.fullmatch(r"[a-z0-9-]+", key) for key in tables)
    assert tables["kpis"].header == ("metric", "current", "previous", "trend")
    assert tables["kpis"].rows == (
        ("Leads created", 7, 2, 250.0),
        ("Leads qualified", 3, 1, 200.0),
        ("Lead conversion rate % (trend in points)", 57.1, 50.0, 7.1),
        ("Average lead score", 59.2, 60.0, -1.4),
        ("Lead pipeline value", 1700.0, 400.0, 325.0),
    )
    assert tables["funnel"].rows == (
        ("created", 7, None, 100.0),
        ("contacted", 6, 85.7, 85.7),
        ("interested", 3, 50.0, 42.9),
        ("converted", 4, 133.3, 57.1),
        ("lost", 1, None, None),
    )
    assert tables["scores"].header == (
        "score from",
        "score to",
        "leads",
        "share %",
        "converted",
        "conversion rate %",
    )
    assert tables["scores"].rows[-2:] == ((90, 100, 1, 14.3, 1, 100.0), (None, None, 1, 14.3, 0, 0.0))
    assert tables["sources"].rows == (
        ("Ads", 4, 2, 50.0, 2000.0, 3, 7.8),
        ("Referrals", 2, 1, 50.0, 400.0, 1, 7.0),
        ("(none)", 1, 1, 100.0, 250.5, 1, 2.0),
        ("All sources", 7, 4, 57.1, 2650.5, 5, 6.1),
    )
    assert tables["velocity"].rows[0] == ("created", "contacted", 6, 1.3)
    assert tables["cohorts"].header == (
        "week",
        "leads",
        "converted within 7 days %",
        "converted within 14 days %",
        "converted within 28 days %",
        "converted within 56 days %",
    )
    assert tables["cohorts"].rows[:2] == (
        ("2026-02-16", 3, 33.3, 100.0, None, None),
        ("2026-02-23", 1, 0.0, None, None, None),
    )


def test_page_context_cards_and_rows(org_a, history, frozen):
    query = query_for(org_a)
    context = tab.page_context(tab.compute(query), query)
    cards = {c["key"]: c for c in context["cards"]}
    assert (cards["total"]["value"], cards["total"]["trend"].text, cards["total"]["trend"].sense) == (
        7,
        "+250.0%",
        "good",
    )
    assert (cards["conversionRate"]["value"], cards["conversionRate"]["trend"].text) == (57.1, "+7.1 pts")
    assert (cards["averageScore"]["trend"].text, cards["averageScore"]["trend"].sense) == ("-1.4%", "bad")
    assert cards["averageScore"]["note"] == "over 6 scored leads"
    assert (cards["pipelineValue"]["value"], cards["pipelineValue"]["href"]) == (1700.0, None)
    cohort = context["cohort_rows"][0]
    assert [c["level"] for c in cohort["cells"]] == [2, 5, None, None]  # 33.3% -> band 2 of 5, 100% -> 5
    assert context["period_text"] == "in the last 30 days"
    assert (context["source_total"]["source"], context["source_total"]["revenue"]) == ("All sources", 2650.5)


def test_fragment_renders_for_managers(org_a, manager_a, agent_a, history, client, frozen):
    client.force_login(manager_a)
    response = client.get(FRAGMENT, {"range": "30d"})
    assert response.status_code == 200
    html = response.content.decode()
    for testid in (
        "leads-tab",
        "leads-kpi-total",
        "leads-kpi-pipelineValue",
        "leads-funnel",
        "leads-scores",
        "leads-sources",
        "leads-velocity",
        "leads-cohorts",
        "leads-export-cohorts",
    ):
        assert f'data-testid="{testid}"' in html, testid
    assert (
        "/dashboard/analytics/records/leads?range=30d&amp;cohortWeek=2026-02-16&amp;convertedWithinDays=7"
        in html
    )
    assert "/dashboard/analytics/records/sales?range=30d&amp;source=Ads&amp;leadCreated=1" in html
    assert "leads-heat--immature" in html
    assert "leads-empty" not in html
    assert client.get("/dashboard/analytics", {"tab": "leads", "range": "30d"}).status_code == 200
    client.force_login(agent_a)
    assert client.get(FRAGMENT, {"range": "30d"}).status_code == 403


def test_empty_states_say_what_to_do(org_a, manager_a, history, client, frozen):
    client.force_login(manager_a)
    # Wednesday 4 to Friday 6 June 2025: no lead, no Monday
    empty = client.get(
        FRAGMENT, {"range": "custom", "start": "2025-06-04", "end": "2025-06-06"}
    ).content.decode()
    assert 'data-testid="leads-empty"' in empty
    assert "No leads created from 2025-06-04 to 2025-06-06: choose a longer range, or import leads" in empty
    assert "No week starts inside this period" in empty
    filtered = client.get(FRAGMENT, {"range": "24h", "source": "Ads"}).content.decode()
    assert "No leads created in the last 24 hours match these filters: clear a filter" in filtered


def test_another_organizations_leads_never_reach_the_page(org_b, outsider, history, client, frozen):
    client.force_login(outsider)
    html = client.get(FRAGMENT, {"range": "30d"}).content.decode()
    assert 'data-testid="leads-empty"' in html
    assert "Referrals" not in html
    assert 'data-source="Ads"' not in html


def test_csv_export_of_a_table(manager_a, history, client, frozen):
    client.force_login(manager_a)
    response = client.get("/dashboard/analytics/export/leads/sources.csv", {"range": "30d"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="acme-leads-sources-30d.csv"'
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[:2] == [
        "source,leads,converted,conversion rate %,revenue,sales,average days to convert",
        "Ads,4,2,50.0,2000.0,3,7.8",
    ]
    assert text.splitlines()[-1] == "All sources,7,4,57.1,2650.5,5,6.1"


# --- drill-down: each link lists exactly the leads behind its number --------------------------


def test_every_chart_link_lists_the_leads_behind_its_number(org_a, history, frozen):
    query = query_for(org_a)
    payload = tab.compute(query)
    specs = tab.charts(payload, query)
    checked = 0
    for point in (
        *specs["funnel"].stages,
        *specs["scores"].series[0].points,
        *specs["source_leads"].series[0].points,
    ):
        if point.href:
            assert len(follow(org_a, point.href)) == point.value, point.label
            checked += 1
    for row, point in zip(payload["sources"], specs["source_conversion"].series[0].points, strict=True):
        if point.href:
            assert len(follow(org_a, point.href)) == row["converted"], point.label
            checked += 1
    for row, point in zip(payload["velocity"], specs["velocity"].series[0].points, strict=True):
        assert len(follow(org_a, point.href)) == row["leads"], point.label
        checked += 1
    for week, hrefs in zip(payload["cohorts"]["weeks"], specs["cohorts"].hrefs, strict=True):
        for cell, href in zip(week["cells"], hrefs, strict=True):
            if href:
                assert len(follow(org_a, href)) == cell["converted"], (week["week"], cell["days"])
                checked += 1
    # 4 stages + 11 score bars + 2 linked sources x 2 + 4 velocity rows + 2 non-empty mature cells
    assert checked == 4 + 11 + 2 + 2 + 4 + 2


@pytest.mark.parametrize(
    ("pick", "expected"),
    [
        (lambda s, c: s["funnel"].stages[0].href, ["L1", "L2", "L3", "L4", "L5", "L6", "L7"]),
        (lambda s, c: s["funnel"].stages[2].href, ["L1", "L2", "L6"]),
        (lambda s, c: s["funnel"].stages[3].href, ["L1", "L2", "L3", "L6"]),
        (lambda s, c: c["lost_href"], ["L4"]),
        (lambda s, c: s["scores"].series[0].points[6].href, ["L6", "L7"]),  # 60-69
        (lambda s, c: s["scores"].series[0].points[10].href, ["L4"]),  # no score
        (lambda s, c: c["score_rows"][6]["converted_href"], ["L6"]),
        (lambda s, c: s["source_leads"].series[0].points[0].href, ["L1", "L2", "L4", "L7"]),
        (lambda s, c: s["velocity"].series[0].points[2].href, ["L1", "L2", "L6"]),  # interested and converted
        (lambda s, c: c["cohort_rows"][0]["href"], ["L1", "L2", "L3"]),
        (lambda s, c: c["cohort_rows"][1]["href"], ["L4"]),
        (lambda s, c: s["cohorts"].hrefs[0][1], ["L1", "L2", "L3"]),  # within 14 days
        (lambda s, c: c["cards"][3]["href"], ["L1", "L2", "L3", "L5", "L6", "L7"]),  # scored
        (lambda s, c: c["source_total"]["converted_href"], ["L1", "L2", "L3", "L6"]),
    ],
)
def test_links_list_exactly_these_leads(org_a, history, frozen, pick, expected):
    query = query_for(org_a)
    payload = tab.compute(query)
    assert follow(org_a, pick(tab.charts(payload, query), tab.page_context(payload, query))) == expected


def _sales_behind(org, href: str) -> tuple[list[str], Decimal]:
    qs = records.records_for_url(org, href, AS_OF)
    return ids(qs), sum((s.amount for s in qs), Decimal(0))


def test_revenue_links_list_the_sales_behind_the_revenue(org_a, history, frozen):
    query = query_for(org_a)
    context = tab.page_context(tab.compute(query), query)
    rows = {r["source"]: r for r in context["source_rows"]}
    assert _sales_behind(org_a, rows["Ads"]["revenue_href"]) == (["S1", "S2", "S3"], Decimal("2000.00"))
    assert _sales_behind(org_a, rows["Referrals"]["revenue_href"]) == (["S8"], Decimal("400.00"))
    assert rows["(none)"]["revenue_href"] is None
    assert _sales_behind(org_a, context["source_total"]["revenue_href"]) == (
        ["S1", "S2", "S3", "S5", "S8"],
        Decimal("2650.50"),
    )
    # with the agent filter, S3 (sold by B) still belongs to agent A's lead L2
    by_agent = query_for(org_a, agent="agent@acme.test")
    context = tab.page_context(tab.compute(by_agent), by_agent)
    assert _sales_behind(org_a, context["source_rows"][0]["revenue_href"]) == (
        ["S1", "S2", "S3"],
        Decimal("2000.00"),
    )


def test_filtered_links_list_the_filtered_leads(org_a, history, frozen):
    query = query_for(org_a, region="North")
    payload = tab.compute(query)
    specs = tab.charts(payload, query)
    assert follow(org_a, specs["funnel"].stages[0].href) == ["L1", "L2", "L5", "L6", "L7"]
    assert follow(org_a, specs["velocity"].series[0].points[3].href) == ["L1", "L2", "L6"]


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("leads", {"reached": "won"}, "reached"),
        ("leads", {"reached": "contacted,contacted"}, "reached"),
        ("leads", {"reached": "created"}, "reached"),
        ("leads", {"reached": "x" * 500}, "reached"),
        ("sales", {"leadCreated": "yes"}, "leadCreated"),
    ],
)
def test_new_drill_down_parameters_are_checked(manager_a, history, client, frozen, kind, params, field):
    client.force_login(manager_a)
    response = client.get(f"/dashboard/analytics/records/{kind}", params)
    assert response.status_code == 400
    assert f"<strong>{field}</strong>" in response.content.decode()


def test_drill_down_pages_answer(manager_a, history, client, frozen):
    client.force_login(manager_a)
    response = client.get(
        "/dashboard/analytics/records/leads", {"range": "30d", "reached": "contacted,converted"}
    )
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 4  # contacted and converted: L1, L2, L3, L6


# --- pure arithmetic (no database) ------------------------------------------------------------


NAIROBI = ZoneInfo("Africa/Nairobi")


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # W starts mid-Friday: the first Monday after it; the last Monday is before W's end
        (utc(2, 13, 12), utc(3, 15, 12), ["2026-02-16", "2026-02-23", "2026-03-02", "2026-03-09"]),
        # W starts at Monday 00:00 local (Sunday 21:00 UTC): that week is kept
        (utc(2, 15, 21), utc(2, 22, 21), ["2026-02-16"]),
        # one second later it is not, and the next Monday 00:00 is W's end (half-open): none
        (utc(2, 15, 21) + dt.timedelta(seconds=1), utc(2, 22, 21), []),
        (utc(3, 14, 12), utc(3, 15, 12), []),  # 24h without a Monday
    ],
    ids=["30d", "from-monday", "just-after-monday", "24h"],
)
def test_cohort_mondays(start, end, expected):
    assert [m.isoformat() for m in calc.cohort_mondays(Window(start, end), NAIROBI)] == expected


def test_cohort_span_runs_from_the_first_monday_to_the_end_of_the_last_week():
    span = calc.cohort_span([dt.date(2026, 2, 16), dt.date(2026, 2, 23)], NAIROBI)
    assert (span.start, span.end) == (utc(2, 15, 21), utc(3, 1, 21))  # Monday 00:00 local = Sunday 21:00 UTC
    assert calc.cohort_span([], NAIROBI) is None


def test_cohort_maturity_is_measured_from_the_end_of_the_week():
    monday = dt.date(2026, 3, 2)  # ends 9 Mar 00:00 local = 8 Mar 21:00 UTC
    counts = {monday: {"created": 4, "within_7": 1, "within_14": 2}}
    just_before = calc.cohort_rows(
        [monday], counts, tz=NAIROBI, as_of=utc(3, 15, 20, 59), horizons_days=(7, 14)
    )
    at_the_mark = calc.cohort_rows([monday], counts, tz=NAIROBI, as_of=utc(3, 15, 21), horizons_days=(7, 14))
    assert _cells(just_before[0]) == [(7, False, None, None), (14, False, None, None)]
    assert _cells(at_the_mark[0]) == [(7, True, 1, 25.0), (14, False, None, None)]  # 1/4


@pytest.mark.parametrize(
    ("share", "level"),
    [(None, None), (0.0, 0), (0.1, 1), (20.0, 1), (20.1, 2), (33.3, 2), (60.0, 3), (99.9, 5), (100.0, 5)],
)
def test_heat_levels(share, level):
    assert leads_present._heat_level(share) == level


@pytest.mark.parametrize(
    ("total", "count", "expected"),
    [
        (None, 0, None),
        (dt.timedelta(0), 0, None),
        (dt.timedelta(days=3), 2, 1.5),
        (dt.timedelta(hours=30), 1, 1.3),
        (dt.timedelta(hours=-12), 1, -0.5),
    ],
)
def test_mean_days(total, count, expected):
    assert calc.mean_days(total, count) == expected  # 30 h = 1.25 d -> 1.3 (half up)


def test_kpi_changes_without_a_base():
    changes = calc.kpi_changes(
        {"created": 2, "converted": 1, "score_sum": 80, "score_count": 1},
        {},
        pipeline_now=Decimal(10),
        pipeline_before=Decimal(0),
    )
    assert changes == {
        "total": None,
        "qualified": None,
        "conversionRate": None,
        "averageScore": None,
        "pipelineValue": None,
    }
    # a rate's change is in points: 1/2 = 50% against 1/4 = 25% is +25 points, not +100%
    assert (
        calc.kpi_changes(
            {"created": 2, "converted": 1}, {"created": 4, "converted": 1}, pipeline_now=1, pipeline_before=1
        )["conversionRate"]
        == 25.0
    )


def test_funnel_rates_over_nothing_are_null():
    rows = calc.funnel({"created": 3, "contacted": 0, "interested": 0, "converted": 1})
    assert [(r["rateFromPrevious"], r["rateFromCreated"]) for r in rows] == [
        (None, 100.0),
        (0.0, 0.0),
        (None, 0.0),
        (None, 33.3),
    ]


def test_score_bands_cover_0_to_100_once():
    covered = [score for low, high in calc.SCORE_BUCKETS for score in range(low, high + 1)]
    assert covered == list(range(101))


def test_stage_columns_are_those_the_records_page_reads():
    assert {k: v for k, v in records.STAGES.items() if v} == lead_reads.STAGE_FIELDS
