"""The agent analytics API on the hand-built history of tests/agents/factories.py."""

from __future__ import annotations

import pytest
import time_machine
from django.core.cache import cache

from core.models import FillState
from core.stats.refresh import statistics_refresh
from tests.agents.factories import AS_OF, build_history

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def history(org_a, agent_a):
    return build_history(org_a, agent_a)


@pytest.fixture
def frozen():
    with time_machine.travel(AS_OF, tick=False):
        yield


EXPECTED_KPIS_7D = {
    # handled in [15 Nov 12:00, 22 Nov 12:00) UTC: L1, L2, L3, L4, L7
    "leadsHandled": 5,
    # since Monday 16 Nov 00:00 local (15 Nov 21:00 UTC): the same five
    "leadsThisWeek": 5,
    # converted: L1 -> 1/5
    "conversionRate": 20.0,
    # S1 1000.00 + S2 250.50 (both KES, the organization's currency)
    "totalRevenue": 1250.5,
    # no sale in another currency left out
    "excludedSales": 0,
    # L1 2h, L2 4h, L7 1h (L4 has no assigned_at) -> 7/3 = 2.333
    "responseTimeHours": 2.33,
    # L1 5, L2 3 -> 4.0 over 2 ratings
    "satisfactionScore": 4.0,
    "satisfactionCount": 2,
    # A: conv 20 (0), sat 4 (only one: 1), resp 2.33h (slowest: 0) -> .35
    # Bea: conv 100 (1), no rating (0), resp 1h (1) -> .65  => A is 2nd of 2
    "teamRanking": 2,
    "totalAgents": 2,
}
EXPECTED_TRENDS_7D = {
    # previous window: L5, L6 handled; L5 converted; L5 3h; rating 4; S3 500.00
    "leads": 150.0,  # (5 - 2) / 2
    "conversion": -30.0,  # a rate: 20 - 50 percentage points
    "revenue": 150.1,  # (1250.50 - 500) / 500 = 150.1
    "response": -22.2,  # (2.3333 - 3) / 3 = -22.22
    "satisfaction": 0.0,  # (4 - 4) / 4
    "ranking": -1,  # 1st of 2 before (only A had data), 2nd now
}


@pytest.mark.parametrize("use_rollups", [False, True], ids=["live", "daily-rows"])
def test_kpis_hand_computed(history, agent_a, api_client_for, org_a, frozen, use_rollups):
    if use_rollups:
        # daily rows up to 21 Nov local; 22 Nov (today) stays live
        statistics_refresh(organization=org_a, family="agents", as_of=AS_OF)
    response = api_client_for(agent_a).get("/agent/analytics/kpis?range=7d")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["agentId"] == str(agent_a.pk)
    assert body["dateRange"] == "7"
    assert body["kpis"] == EXPECTED_KPIS_7D
    assert body["trends"] == EXPECTED_TRENDS_7D
    assert body["trendUnits"] == {
        "leads": "percent",
        "conversion": "points",
        "revenue": "percent",
        "response": "percent",
        "satisfaction": "percent",
        "ranking": "places",
    }


def test_funnel_and_rates(history, agent_a, api_client_for, frozen):
    body = api_client_for(agent_a).get("/agent/analytics/funnel?range=7d").json()
    # assigned 5; contacted L1 L2 L4 L7 = 4; interested L1 L2 = 2; converted L1 = 1
    assert body["funnel"] == {"assigned": 5, "contacted": 4, "interested": 2, "converted": 1}
    assert body["conversionRates"] == {"contactRate": 80.0, "interestRate": 40.0, "conversionRate": 20.0}


def test_lead_sources_add_up_to_revenue(history, agent_a, api_client_for, frozen):
    body = api_client_for(agent_a).get("/agent/analytics/lead-sources?range=7d").json()
    assert body["sources"] == [
        # L1 (converted), L7; S1 was L1's sale
        {"source": "Referrals", "count": 2, "conversionRate": 50.0, "revenue": 1000.0},
        {"source": "Web Forms", "count": 2, "conversionRate": 0.0, "revenue": 0.0},
        {"source": "Paid Ads", "count": 1, "conversionRate": 0.0, "revenue": 0.0},
        # S2 has no lead: Unknown, with no handled leads (rate over nothing is null)
        {"source": "Unknown", "count": 0, "conversionRate": None, "revenue": 250.5},
    ]
    assert sum(row["revenue"] for row in body["sources"]) == EXPECTED_KPIS_7D["totalRevenue"]


def test_revenue_trend_daily_zero_filled(history, agent_a, api_client_for, frozen):
    body = api_client_for(agent_a).get("/agent/analytics/revenue-trends?period=daily&range=7d").json()
    # window 15 Nov 15:00 .. 22 Nov 15:00 local -> local days 15..22 (8 buckets)
    assert [(p["date"], p["revenue"]) for p in body["data"]] == [
        ("2026-11-15", 0.0),
        ("2026-11-16", 0.0),
        ("2026-11-17", 0.0),
        ("2026-11-18", 1000.0),
        ("2026-11-19", 0.0),
        ("2026-11-20", 0.0),
        ("2026-11-21", 0.0),
        ("2026-11-22", 250.5),  # S2: 21 Nov 23:30 UTC is 22 Nov local
    ]
    assert body["insights"]["bestDay"] == {"date": "2026-11-18", "revenue": 1000.0}
    # month to date (1 Nov 00:00 .. 22 Nov 15:00 local): S1 1000 + S2 250.50 + S3 500 + S6 10
    assert body["insights"]["monthTotal"] == 1760.5
    # same elapsed time from 1 Oct: up to 22 Oct 15:00 local -> S4 700.25 (S5 on 25 Oct is later)
    # (1760.50 - 700.25) / 700.25 = 151.41%
    assert body["insights"]["monthChange"] == 151.4


def test_revenue_trend_weeks_and_months_in_local_time(history, agent_a, api_client_for, frozen):
    client = api_client_for(agent_a)
    weekly = client.get("/agent/analytics/revenue-trends?period=weekly&range=90d").json()
    weeks = dict((p["date"], p["revenue"]) for p in weekly["data"])
    # 90d from Monday 24 Aug: 13 ISO weeks, Monday-labelled
    assert len(weeks) == 13
    assert next(iter(weeks)) == "2026-08-24"
    assert weeks["2026-10-05"] == 700.25  # S4
    assert weeks["2026-10-19"] == 99.0  # S5 (Sunday 25 Oct)
    assert weeks["2026-10-26"] == 10.0  # S6: Sunday 1 Nov local
    assert weeks["2026-11-02"] == 0.0  # S3 is Monday 9 Nov local, not Sunday 8 Nov UTC
    assert weeks["2026-11-09"] == 500.0
    assert weeks["2026-11-16"] == 1250.5  # S1 + S2
    monthly = client.get("/agent/analytics/revenue-trends?period=monthly&range=90d").json()
    assert [(p["date"], p["revenue"]) for p in monthly["data"]] == [
        ("2026-08-01", 0.0),
        ("2026-09-01", 0.0),
        ("2026-10-01", 799.25),  # S4 + S5 (S6 is November locally)
        ("2026-11-01", 1760.5),
    ]


def test_goals_lifecycle_and_completion(history, agent_a, api_client_for, frozen):
    from crm.models import AuditLog

    client = api_client_for(agent_a)
    created = client.post(
        "/agent/goals",
        {"period": "monthly", "goals": {"conversions": 4, "revenue": 1500, "responseTimeHours": 3}},
        format="json",
    )
    assert created.status_code == 201, created.content
    goals = {g["type"]: g for g in created.json()["goals"]}
    # November so far (1 Nov .. now): handled L1..L7 except none before 1 Nov -> converted L1, L5 = 2
    assert (goals["conversions"]["current"], goals["conversions"]["completion"]) == (2, 50.0)
    assert goals["conversions"]["achieved"] is False
    # revenue 1760.50 of 1500 -> 117.4%, achieved
    assert (goals["revenue"]["current"], goals["revenue"]["completion"]) == (1760.5, 117.4)
    assert goals["revenue"]["achieved"] is True
    # response: L1 2h, L2 4h, L5 3h, L7 1h -> 2.5h; lower is better: 3 / 2.5 = 120%
    assert (goals["responseTimeHours"]["current"], goals["responseTimeHours"]["completion"]) == (2.5, 120.0)
    assert goals["responseTimeHours"]["achieved"] is True
    assert goals["responseTimeHours"]["lowerIsBetter"] is True
    # creating again is a conflict; updating works and is audited
    again = client.post("/agent/goals", {"period": "monthly", "goals": {"conversions": 5}}, format="json")
    assert again.status_code == 409
    updated = client.put("/agent/goals", {"period": "monthly", "goals": {"conversions": 2}}, format="json")
    assert updated.status_code == 200
    assert {g["type"]: g["achieved"] for g in updated.json()["goals"]}["conversions"] is True
    assert AuditLog.objects.filter(object_type="agent_goal").count() == 4


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"period": "weekly", "goals": {"conversions": 1}}, "period"),
        ({"period": "monthly", "goals": {"calls": 1}}, "goals.calls"),
        ({"period": "monthly", "goals": {"revenue": -5}}, "goals.revenue"),
        ({"period": "monthly", "goals": {"revenue": "lots"}}, "goals.revenue"),
        ({"period": "monthly", "goals": {}}, "goals"),
        ({"period": "monthly"}, "goals"),
    ],
)
def test_bad_goals_are_400_naming_the_field(agent_a, api_client_for, body, field):
    response = api_client_for(agent_a).post("/agent/goals", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_put_of_a_missing_goal_is_404(agent_a, api_client_for):
    response = api_client_for(agent_a).put(
        "/agent/goals", {"period": "yearly", "goals": {"revenue": 9}}, format="json"
    )
    assert response.status_code == 404


def test_activity_timeline_cursor_pages(org_a, agent_a, api_client_for):
    from tests.agents.factories import at
    from tests.factories import ActivityFactory

    for i in range(5):
        ActivityFactory(
            organization=org_a,
            agent=agent_a,
            external_id=f"A{i}",
            type="call",
            occurred_at=at(11, 10 + i, 9),
            title=f"Call {i}",
        )
    ActivityFactory(
        organization=org_a, agent=agent_a, external_id="E1", type="email", occurred_at=at(11, 12, 10)
    )
    client = api_client_for(agent_a)
    first = client.get("/agent/analytics/activities?filter=calls&limit=2").json()
    assert [a["id"] for a in first["activities"]] == ["A4", "A3"]
    assert first["hasMore"] is True
    second = client.get(
        f"/agent/analytics/activities?filter=calls&limit=2&cursor={first['nextCursor']}"
    ).json()
    assert [a["id"] for a in second["activities"]] == ["A2", "A1"]
    third = client.get(
        f"/agent/analytics/activities?filter=calls&limit=2&cursor={second['nextCursor']}"
    ).json()
    assert [a["id"] for a in third["activities"]] == ["A0"]
    assert third["nextCursor"] is None
    everything = client.get("/agent/analytics/activities?limit=100").json()
    assert [a["id"] for a in everything["activities"]] == ["A4", "A3", "E1", "A2", "A1", "A0"]
    assert client.get("/agent/analytics/activities?filter=emails").json()["activities"][0]["id"] == "E1"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/agent/analytics/kpis?range=2w", "range"),
        ("/agent/analytics/kpis?range=0", "range"),
        ("/agent/analytics/revenue-trends?period=hourly", "period"),
        ("/agent/analytics/activities?limit=0", "limit"),
        ("/agent/analytics/activities?limit=101", "limit"),
        ("/agent/analytics/activities?filter=sms", "filter"),
        ("/agent/analytics/activities?cursor=garbage", "cursor"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(agent_a, api_client_for, query, field):
    response = api_client_for(agent_a).get(query)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    if field == "range":
        assert "24h, 7d, 30d, 90d, 1y" in response.json()["error"]["details"]["range"][0]


ENDPOINTS = [
    "/agent/analytics/kpis",
    "/agent/analytics/funnel",
    "/agent/analytics/lead-sources",
    "/agent/analytics/revenue-trends",
    "/agent/analytics/activities",
    "/agent/goals",
]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_agent_cannot_read_another_agent(history, agent_a, api_client_for, path):
    response = api_client_for(agent_a).get(f"{path}?agent=bea@acme.test")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Can only access own data"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_manager_reads_any_agent_of_own_org_only(history, manager_a, outsider, api_client_for, path):
    assert api_client_for(manager_a).get(f"{path}?agent=bea@acme.test").status_code == 200
    # an agent of another organization answers like a missing one
    assert api_client_for(manager_a).get(f"{path}?agent={outsider.email}").status_code == 404
    assert api_client_for(manager_a).get(f"{path}?agent=nobody@acme.test").status_code == 404
    assert api_client_for(outsider).get(f"{path}?agent=bea@acme.test").status_code == 404


@pytest.mark.parametrize("path", ENDPOINTS)
def test_anonymous_is_401(client, path):
    assert client.get(path).status_code == 401


def test_session_login_works_too(client, agent_a, history):
    client.force_login(agent_a)
    assert client.get("/agent/analytics/kpis").status_code == 200


def test_ranking_payload_reveals_position_only(history, agent_a, api_client_for, frozen):
    body = api_client_for(agent_a).get("/agent/analytics/kpis?range=7d").json()
    text = str(body)
    assert set(body) == {"agentId", "dateRange", "kpis", "trends", "trendUnits"}
    assert set(body["kpis"]) == set(EXPECTED_KPIS_7D)
    # nothing of Bea's: no e-mail, name, id or revenue figure
    bea, _, sales = history
    for marker in (bea.email, bea.name, f"'{bea.pk}'", "5000"):
        assert marker not in text


def test_kpi_query_count_does_not_grow_with_data(
    org_a, agent_a, api_client_for, django_assert_max_num_queries, frozen
):
    from tests.agents.factories import at
    from tests.factories import LeadFactory, MemberFactory

    def request_count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            assert api_client_for(agent_a).get("/agent/analytics/kpis?range=30d").status_code == 200
        return len(ctx.captured_queries)

    statistics_refresh(organization=org_a, family="agents", as_of=AS_OF)
    small = request_count()
    for i in range(30):
        agent = MemberFactory(organization=org_a, role="agent", email=f"extra{i}@acme.test")
        for j in range(3):
            LeadFactory(
                organization=org_a,
                assigned_agent=agent,
                created_at=at(11, 10 + j),
                assigned_at=at(11, 10 + j),
                contacted_at=at(11, 11 + j),
            )
    statistics_refresh(organization=org_a, family="agents", as_of=AS_OF)
    large = request_count()
    assert large == small
    assert large <= 12


def test_import_invalidates_cached_kpis_and_marks_days_stale(
    history, agent_a, org_a, api_client_for, frozen, django_capture_on_commit_callbacks
):
    from crm.ingestion import ingest_records

    statistics_refresh(organization=org_a, family="agents", as_of=AS_OF)
    client = api_client_for(agent_a)
    before = client.get("/agent/analytics/kpis?range=7d").json()["kpis"]
    assert before["leadsHandled"] == 5
    # when a lead assigned on 17 Nov (a day already in the daily rows) is imported
    with django_capture_on_commit_callbacks(execute=True):
        result = ingest_records(
            organization=org_a,
            entity="leads",
            records=[
                {
                    "external_id": "L9",
                    "name": "New",
                    "source": "Events",
                    "status": "converted",
                    "assigned_agent": agent_a.email,
                    "created_at": "2026-11-17T08:00:00Z",
                    "assigned_at": "2026-11-17T09:00:00Z",
                    "contacted_at": "2026-11-17T10:00:00Z",
                    "converted_at": "2026-11-18T10:00:00Z",
                }
            ],
        )
    assert result.rows_stored == 1
    # then the day is marked stale and the cached answer is gone: 6 leads, 2 converted
    assert (
        FillState.objects.for_org(org_a).filter(family="agents").get().dirty_from.isoformat() == "2026-11-17"
    )
    after = client.get("/agent/analytics/kpis?range=7d").json()["kpis"]
    assert (after["leadsHandled"], after["conversionRate"]) == (6, 33.3)
