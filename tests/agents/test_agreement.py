"""Same-named numbers agree on the agent's API and page and on the manager dashboard (issue 11,
item 4): one currency rule, one rounding rule, one goal rule, one trend convention
(docs/metrics.md, "Shared rules").

Personas: agent_a (Alan) and manager_a of organization A (currency KES, Africa/Nairobi).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from agents.services import goals_record_achievements
from agents.team import team_table
from core.stats.refresh import statistics_refresh
from crm.models import Lead
from tests.factories import SaleFactory

pytestmark = pytest.mark.django_db

# Sunday 22 Nov 2026, 15:00 in Nairobi; "30d" is [23 Oct 12:00, 22 Nov 12:00) UTC.
AS_OF = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
OVERVIEW = "/api/analytics/overview"
PAGE = reverse("agent-page")


def at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def frozen():
    with time_machine.travel(AS_OF, tick=False):
        yield


def dashboard_for_agent(client, agent, metrics: list[str]) -> dict:
    """The manager overview of the last 30 days filtered to one agent."""
    response = client.post(
        OVERVIEW,
        {"timeRange": "30d", "metrics": metrics, "filters": {"agent": agent.email}},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()["data"]


@pytest.fixture
def two_currencies(org_a, agent_a):
    # a KES 100 sale (the organization's currency) and a USD 900 sale, both in the window
    SaleFactory(organization=org_a, agent=agent_a, amount=Decimal("100.00"), currency="KES", closed_at=at(10))
    SaleFactory(organization=org_a, agent=agent_a, amount=Decimal("900.00"), currency="USD", closed_at=at(12))


@pytest.mark.parametrize("use_rollups", [False, True], ids=["live", "daily-rows"])
def test_other_currency_sales_are_counted_never_summed(
    two_currencies, org_a, agent_a, manager_a, api_client_for, frozen, use_rollups
):
    # given the agent daily rows up to yesterday (21 Nov local), or none
    if use_rollups:
        statistics_refresh(organization=org_a, family="agents", as_of=AS_OF)

    # when the agent asks for their KPIs and the manager for the dashboard filtered to them
    agent = api_client_for(agent_a)
    kpis = agent.get("/agent/analytics/kpis?range=30d").json()["kpis"]
    data = dashboard_for_agent(api_client_for(manager_a), agent_a, ["revenue"])

    # then only the KES sale is summed, the USD one is counted and said so: 100, not 1000
    assert (kpis["totalRevenue"], kpis["excludedSales"]) == (100.0, 1)
    # and the dashboard shows the same revenue (one KES deal of 100)
    assert (data["revenue"]["total"], data["revenue"]["deals"]) == (100.0, 1)
    # and every other agent figure made of money adds up to the same 100
    sources = agent.get("/agent/analytics/lead-sources?range=30d").json()["sources"]
    assert sources == [{"source": "Unknown", "count": 0, "conversionRate": None, "revenue": 100.0}]
    trend = agent.get("/agent/analytics/revenue-trends?period=daily&range=30d").json()
    assert sum(point["revenue"] for point in trend["data"]) == 100.0
    assert trend["insights"]["monthTotal"] == 100.0  # November so far
    rows = {row.agent_id: row for row in team_table(organization=org_a, range_value="30d", as_of=AS_OF)}
    assert rows[agent_a.pk].total_revenue == 100.0


def test_revenue_goal_counts_only_the_organization_currency(two_currencies, agent_a, api_client_for, frozen):
    # when a monthly revenue goal of 1,000 is set
    response = api_client_for(agent_a).post(
        "/agent/goals", {"period": "monthly", "goals": {"revenue": 1000}}, format="json"
    )

    # then its progress is 100 / 1,000 = 10.0%, not 1,000 / 1,000 achieved
    assert response.status_code == 201, response.content
    (goal,) = response.json()["goals"]
    assert (goal["current"], goal["completion"], goal["achieved"]) == (100.0, 10.0, False)


def test_the_agent_page_says_what_the_revenue_leaves_out(client, two_currencies, agent_a, frozen):
    client.force_login(agent_a)
    html = client.get(PAGE, {"range": "30d"}).content.decode()
    revenue = re.search(r'<article[^>]*data-metric="revenue".*?</article>', html, re.S).group(0)
    assert "KES 100.00" in revenue
    assert "1 sale in another currency is not included" in revenue


def test_no_note_without_sales_in_other_currencies(client, org_a, agent_a, frozen):
    SaleFactory(organization=org_a, agent=agent_a, amount=Decimal("100.00"), currency="KES", closed_at=at(10))
    client.force_login(agent_a)
    html = client.get(PAGE, {"range": "30d"}).content.decode()
    assert "not included" not in html


@pytest.fixture
def cohort_49_of_400(org_a, agent_a):
    # 400 leads created and assigned to the agent on 10 Nov, 49 of them converted on 12 Nov
    Lead.objects.bulk_create(
        Lead(
            organization=org_a,
            external_id=f"R{i}",
            name=f"Lead {i}",
            source="Referrals",
            assigned_agent=agent_a,
            created_at=at(10, 8),
            assigned_at=at(10, 9),
            converted_at=at(12) if i < 49 else None,
            status="converted" if i < 49 else "new",
        )
        for i in range(400)
    )


def test_49_of_400_is_12_3_everywhere(cohort_49_of_400, client, agent_a, manager_a, api_client_for, frozen):
    # 49 / 400 = 12.25% exactly: half up gives 12.3 (round() on the binary float gave 12.2)
    agent = api_client_for(agent_a)
    assert agent.get("/agent/analytics/kpis?range=30d").json()["kpis"]["conversionRate"] == 12.3
    funnel = agent.get("/agent/analytics/funnel?range=30d").json()
    assert funnel["conversionRates"]["conversionRate"] == 12.3
    data = dashboard_for_agent(api_client_for(manager_a), agent_a, ["leads"])
    assert data["leads"]["conversionRate"] == 12.3
    client.force_login(agent_a)
    html = client.get(PAGE, {"range": "30d"}).content.decode()
    conversion = re.search(r'<article[^>]*data-metric="conversion".*?</article>', html, re.S).group(0)
    assert "12.3%" in conversion


def test_a_zero_target_is_no_target(org_a, agent_a, api_client_for, client, frozen):
    # given a converted lead and a KES 100 sale this month
    Lead.objects.create(
        organization=org_a,
        external_id="Z1",
        name="Zed",
        assigned_agent=agent_a,
        created_at=at(10, 8),
        assigned_at=at(10, 9),
        contacted_at=at(10, 11),
        converted_at=at(12),
        status="converted",
    )
    SaleFactory(organization=org_a, agent=agent_a, amount=Decimal("100.00"), currency="KES", closed_at=at(12))

    # when targets of 0 are set
    response = api_client_for(agent_a).post(
        "/agent/goals",
        {"period": "monthly", "goals": {"conversions": 0, "revenue": 0, "responseTimeHours": 0}},
        format="json",
    )

    # then none has a progress nor is achieved (it used to show 100% achieved), whatever done
    assert response.status_code == 201, response.content
    goals = {g["type"]: g for g in response.json()["goals"]}
    assert {t: (g["current"], g["completion"], g["achieved"]) for t, g in goals.items()} == {
        "conversions": (1, None, False),
        "revenue": (100.0, None, False),
        "responseTimeHours": (2.0, None, False),  # contacted 2 h after assignment
    }
    # and the nightly job records no achievement
    assert goals_record_achievements(organization=org_a, as_of=AS_OF) == 0
    # and the page shows a dash for the completion, never 100%
    client.force_login(agent_a)
    html = client.get(PAGE).content.decode()
    goal = re.search(r'<li[^>]*data-goal="monthly-revenue".*?</li>', html, re.S).group(0)
    assert '<span class="goal__completion">—</span>' in goal
    assert "Achieved" not in goal


def test_a_rate_trend_is_in_points_on_the_api_and_the_page(org_a, agent_a, api_client_for, client, frozen):
    # given 4 leads handled in the last 7 days, 3 converted (75%), and 3 in the 7 days
    # before, 1 converted (33.33%)
    def lead(key: str, day: int, converted: bool) -> Lead:
        return Lead(
            organization=org_a,
            external_id=key,
            name=key,
            assigned_agent=agent_a,
            created_at=at(day, 8),
            assigned_at=at(day, 9),
            converted_at=at(day, 15) if converted else None,
        )

    Lead.objects.bulk_create(
        [lead(f"N{i}", 18, i < 3) for i in range(4)] + [lead(f"P{i}", 10, i < 1) for i in range(3)]
    )

    # when the agent reads the 7-day KPIs
    body = api_client_for(agent_a).get("/agent/analytics/kpis?range=7d").json()

    # then the conversion trend is 75 - 33.33 = +41.7 points, not (75 - 33.33) / 33.33 = +125%
    assert body["trends"]["conversion"] == 41.7
    assert body["trendUnits"]["conversion"] == "points"
    # and leads handled stay a relative change: (4 - 3) / 3 = +33.3%
    assert (body["trends"]["leads"], body["trendUnits"]["leads"]) == (33.3, "percent")
    # and the page labels each in its unit
    client.force_login(agent_a)
    html = client.get(PAGE, {"range": "7d"}).content.decode()
    conversion = re.search(r'<article[^>]*data-metric="conversion".*?</article>', html, re.S).group(0)
    leads = re.search(r'<article[^>]*data-metric="leads".*?</article>', html, re.S).group(0)
    assert "▲ +41.7 pts" in conversion
    assert "▲ +33.3%" in leads
