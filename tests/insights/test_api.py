"""POST /api/analytics/overview on the hand-built history of tests/insights/factories.py."""

from __future__ import annotations

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import FillState
from core.stats.refresh import statistics_refresh
from tests.insights.factories import AS_OF, build_history

pytestmark = pytest.mark.django_db
URL = "/api/analytics/overview"


@pytest.fixture
def history(org_a, agent_a):
    return build_history(org_a, agent_a)


@pytest.fixture
def frozen():
    with time_machine.travel(AS_OF, tick=False):
        yield


def post(client, body):
    return client.post(URL, body, format="json")


EXPECTED_7D = {
    "calls": {
        "total": 3,  # C1, C2, C3 in W (C4 is previous; E1 is an e-mail)
        "successful": 2,  # C1, C3
        "successRate": 66.7,  # 2/3
        "averageDuration": 3.3,  # (300 + 90) / 2 = 195 s = 3.25 min (C3 has no duration)
        "totalMinutes": 7,  # 390 s = 6.5 min, half up
        "trend": 200.0,  # (3 - 1) / 1
    },
    "leads": {
        "total": 3,  # L1, L2, L3 created in W
        "qualified": 1,  # L1 has interested_at
        "conversionRate": 33.3,  # L1 converted: 1/3
        "averageScore": 70.0,  # (80 + 60) / 2, L3 has no score
        "pipelineValue": 1200.0,  # open at 15 Mar 12:00: L2 500 + L5 700 (L3 lost 08:00, L1/L4 converted)
        "trend": 200.0,  # (3 - 1) / 1
    },
    "revenue": {
        "total": 1250.5,  # S1 1000.00 + S2 250.50 (S4 is in EUR: left out)
        "deals": 2,
        "averageDealSize": 625.25,  # 1250.50 / 2
        "monthlyRecurring": 250.5,  # recurring in the last 30 days of W (all of W): S2
        "growthRate": 150.1,  # (1250.50 - 500) / 500 = 150.1
        "trend": 150.1,
    },
}
EXPECTED_CAMPAIGNS_7D = {
    "active": 2,
    "sent": 5,  # K1 4 + K2 1 (K2's 5 Mar message is previous)
    "delivered": 4,
    "read": 3,
    "replied": 1,
    "deliveredRate": 80.0,  # 4/5
    "readRate": 75.0,  # 3/4
    "replyRate": 25.0,  # 1/4
    "responseRate": 25.0,
    "totalSpend": 150.0,  # 100 + 50
    "attributedRevenue": 1250.5,  # S1 -> K2 (T2 is L1's last touch before 12 Mar), S2 -> K1 (T4)
    "roi": 733.7,  # (1250.50 - 150) / 150 = 733.67
    "costPerLead": 50.0,  # 150 / 3 distinct leads touched (L1, L2, L4)
    "trend": 400.0,  # sent (5 - 1) / 1
}
EXPECTED_K1 = {
    "id": "K1",
    "name": "Spring",
    "sent": 4,
    "delivered": 3,
    "read": 2,
    "replied": 1,
    "deliveredRate": 75.0,  # 3/4
    "readRate": 66.7,  # 2/3
    "replyRate": 33.3,  # 1/3
    "spend": 100.0,
    "attributedRevenue": 250.5,
    "roi": 150.5,  # (250.50 - 100) / 100
    "leads": 3,
    "costPerLead": 33.33,  # 100 / 3 (L1, L2, L4)
}
EXPECTED_K2 = {
    "id": "K2",
    "name": "Promo",
    "sent": 1,
    "delivered": 1,
    "read": 1,
    "replied": 0,
    "deliveredRate": 100.0,
    "readRate": 100.0,
    "replyRate": 0.0,
    "spend": 50.0,
    "attributedRevenue": 1000.0,
    "roi": 1900.0,  # (1000 - 50) / 50
    "leads": 1,
    "costPerLead": 50.0,  # 50 / 1 (L1)
}


@pytest.mark.parametrize("use_rollups", [False, True], ids=["live", "rollups"])
def test_overview_hand_computed(history, manager_a, org_a, api_client_for, frozen, use_rollups):
    if use_rollups:
        # rollups through 14 Mar local; 15 Mar (today) and the partial first day stay live
        statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    response = post(api_client_for(manager_a), {"timeRange": "7d"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    for name, expected in EXPECTED_7D.items():
        assert data[name] == expected, name
    campaigns = dict(data["campaigns"])
    listed = campaigns.pop("campaigns")
    assert campaigns == EXPECTED_CAMPAIGNS_7D
    assert listed == [EXPECTED_K1, EXPECTED_K2]  # most messages sent first
    assert body["trends"] == {"calls": 200.0, "leads": 200.0, "revenue": 150.1, "campaigns": 400.0}


def test_comparisons_show_the_previous_period(history, manager_a, api_client_for, frozen):
    body = post(
        api_client_for(manager_a), {"timeRange": "7d", "metrics": ["leads", "revenue", "calls"]}
    ).json()
    assert set(body["data"]) == {"calls", "leads", "revenue"}
    # previous window: L4 created and converted, score 40; pipeline at 8 Mar 12:00: L5 700
    assert body["comparisons"]["leads"]["previous"] == {
        "total": 1,
        "qualified": 0,
        "conversionRate": 100.0,
        "averageScore": 40.0,
        "pipelineValue": 700.0,
    }
    # S3 500.00 recurring
    assert body["comparisons"]["revenue"]["previous"] == {
        "total": 500.0,
        "deals": 1,
        "averageDealSize": 500.0,
        "monthlyRecurring": 500.0,
    }
    # C4: 600 s
    assert body["comparisons"]["calls"]["previous"] == {
        "total": 1,
        "successful": 1,
        "successRate": 100.0,
        "averageDuration": 10.0,
        "totalMinutes": 10,
    }
    assert body["comparisons"]["calls"]["current"]["total"] == 3


def test_previous_campaign_window_attributes_older_sales(history, manager_a, api_client_for, frozen):
    body = post(api_client_for(manager_a), {"timeRange": "7d", "metrics": ["campaigns"]}).json()
    previous = body["comparisons"]["campaigns"]["previous"]
    # K2 sent one message; S3 (6 Mar) goes to K1 through T5 (4 Mar)
    assert (previous["sent"], previous["active"], previous["attributedRevenue"]) == (1, 1, 500.0)
    assert previous["totalSpend"] == 150.0
    assert previous["roi"] == 233.3  # (500 - 150) / 150


@pytest.mark.parametrize("use_rollups", [False, True], ids=["live", "rollups"])
def test_filters_narrow_every_dimensioned_metric(
    history, manager_a, org_a, agent_a, api_client_for, frozen, use_rollups
):
    if use_rollups:
        statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    client = api_client_for(manager_a)
    body = post(client, {"timeRange": "7d", "filters": {"region": "North"}}).json()["data"]
    # North: L1, L2 (and L5, created before W); calls C1, C2; sales S1, S2
    assert (body["leads"]["total"], body["leads"]["conversionRate"], body["leads"]["pipelineValue"]) == (
        2,
        50.0,
        1200.0,
    )
    assert (body["calls"]["total"], body["calls"]["successRate"]) == (2, 50.0)
    assert body["revenue"]["total"] == 1250.5
    # campaigns are organization-wide
    assert body["campaigns"]["sent"] == 5
    body = post(client, {"timeRange": "7d", "filters": {"agent": agent_a.email, "source": "Ads"}}).json()[
        "data"
    ]
    # agent A and source Ads: lead L1; call C1; sale S1
    assert (body["leads"]["total"], body["calls"]["total"], body["revenue"]["total"]) == (1, 1, 1000.0)
    body = post(client, {"timeRange": "7d", "filters": {"productLine": "Basic"}}).json()["data"]
    # Basic: L2 in W; C2; S2
    assert (body["leads"]["total"], body["calls"]["totalMinutes"], body["revenue"]["total"]) == (1, 2, 250.5)


def test_custom_range_uses_local_dates(history, manager_a, api_client_for, frozen):
    # 10-12 Mar local (Nairobi) = [9 Mar 21:00, 12 Mar 21:00) UTC: L1, L2; C1, C2; S1
    body = post(api_client_for(manager_a), {"timeRange": {"start": "2026-03-10", "end": "2026-03-12"}}).json()
    assert body["range"]["start"] == "2026-03-09T21:00:00+00:00"
    assert body["data"]["leads"]["total"] == 2
    assert body["data"]["calls"]["total"] == 2
    assert body["data"]["revenue"]["total"] == 1000.0
    # previous: [6 Mar 21:00, 9 Mar 21:00): no lead, no call -> trend null (no base)
    assert body["trends"]["leads"] is None


def test_empty_organization_gives_nulls_not_zeros(manager_a, api_client_for, frozen):
    data = post(api_client_for(manager_a), {}).json()["data"]
    assert data["calls"]["successRate"] is None
    assert data["calls"]["averageDuration"] is None
    assert data["leads"]["conversionRate"] is None
    assert data["revenue"]["averageDealSize"] is None
    assert data["revenue"]["total"] == 0.0
    assert data["campaigns"]["deliveredRate"] is None
    assert data["campaigns"]["campaigns"] == []


def test_cache_is_invalidated_by_an_ingest(
    history, manager_a, org_a, api_client_for, frozen, django_capture_on_commit_callbacks
):
    from crm.ingestion import ingest_records

    statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    client = api_client_for(manager_a)
    assert post(client, {"timeRange": "7d"}).json()["data"]["calls"]["total"] == 3
    # when a call of 11 Mar (a day already rolled up) is imported
    with django_capture_on_commit_callbacks(execute=True):
        result = ingest_records(
            organization=org_a,
            entity="activities",
            records=[
                {
                    "external_id": "C9",
                    "type": "call",
                    "outcome": "success",
                    "duration_seconds": 60,
                    "occurred_at": "2026-03-11T08:00:00Z",
                    "lead": "L2",
                }
            ],
        )
    assert result.rows_stored == 1, result
    # then the day is stale, the cached answer is gone and the new call counts
    assert (
        FillState.objects.for_org(org_a).filter(family="insights").get().dirty_from.isoformat()
        == "2026-03-11"
    )
    calls = post(client, {"timeRange": "7d"}).json()["data"]["calls"]
    assert (calls["total"], calls["successful"]) == (4, 3)


def test_answer_is_cached(history, manager_a, api_client_for, frozen, django_assert_num_queries):
    client = api_client_for(manager_a)
    post(client, {"timeRange": "30d", "filters": {"region": "North"}})
    # auth (member, organization) + the region check only; the numbers come from the cache
    with django_assert_num_queries(3):
        assert post(client, {"timeRange": "30d", "filters": {"region": "North"}}).status_code == 200


def count_queries(client, body) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        assert post(client, body).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("use_rollups", [False, True], ids=["live", "rollups"])
def test_fixed_number_of_queries(history, org_a, manager_a, agent_a, api_client_for, frozen, use_rollups):
    client = api_client_for(manager_a)
    body = {"timeRange": "1y", "filters": {"region": "North", "agent": agent_a.email}}
    if use_rollups:
        statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    small = count_queries(client, body)
    # given three times the data and more agents
    from tests.factories import MemberFactory

    for copy in (1, 2):
        build_history(org_a, MemberFactory(email=f"a{copy}@acme.test", organization=org_a), copy=copy)
    if use_rollups:
        statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    assert count_queries(client, body) == small
    # auth 2, filter checks 2, fill state 1, then per table the rollup days and the live rest:
    # calls 2, leads 2 (with the pipeline's inflow: what entered it before each window's end),
    # the pipeline's outflow 2, sales 2, campaigns 1, leads touched per campaign and per window's campaigns 2
    # (the campaigns' stored lead sets, and the touchpoints since); the organization-wide
    # campaign tables read the whole hours at the edges from their hour levels: campaign
    # messages 2 and attribution 2 (days and hours: the window ends on a whole hour, nothing
    # is live). Live only: one query per table instead of two, the touchpoints once.
    assert small == (20 if use_rollups else 13)
    assert count_queries(client, body | {"timeRange": "90d"}) == small
