"""The dashboard page shell, the Overview and Reports tabs, drill-down records, CSV exports,
organization goals and saved views, on the hand-built history of factories.py.

AS_OF = 15 Mar 2026 12:00 UTC = 15:00 in Nairobi (UTC+3); 7d = [8 Mar 12:00, 15 Mar 12:00) UTC.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from crm.models import ActivityType, AuditLog
from insights import analytics
from insights.models import OrganizationGoal, SavedView
from insights.selectors.records import records_for_url
from insights.tabs import overview, parse_dashboard_query
from insights.tabs.compute.overview import comparison_changes
from insights.tabs.present import overview as overview_present
from tests.factories import ActivityFactory, LeadFactory, SaleFactory
from tests.insights.factories import AS_OF, at, build_history

pytestmark = pytest.mark.django_db
PAGE = "/dashboard/analytics"


@pytest.fixture
def frozen():
    with time_machine.travel(AS_OF, tick=False):
        yield


@pytest.fixture
def history(org_a, agent_a):
    return build_history(org_a, agent_a)


@pytest.fixture
def manager_client(client, manager_a):
    client.force_login(manager_a)
    return client


def _query(org, **params):
    return parse_dashboard_query(organization=org, params=params, as_of=AS_OF)


def _ids(qs):
    return sorted(qs.values_list("external_id", flat=True))


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


# --- the Overview tab's numbers -------------------------------------------------------------


def test_overview_tab_carries_the_overview_answer(org_a, history, frozen):
    payload = overview.compute(_query(org_a, range="7d"))
    api = analytics.overview(
        organization=org_a, time_range="7d", metrics=list(analytics.METRICS), filters={}, as_of=AS_OF
    )
    assert payload["data"] == api["data"]
    assert (
        payload["trends"]
        == api["trends"]
        == {"calls": 200.0, "leads": 200.0, "revenue": 150.1, "campaigns": 400.0}
    )
    rows = {(r["metric"], r["field"]): r for r in payload["comparisonRows"]}
    # calls 3 vs 1: +200%; success rate 66.7 vs 100.0: -33.3 points (a change of a rate is in points)
    assert (rows[("calls", "total")]["current"], rows[("calls", "total")]["previous"]) == (3, 1)
    assert rows[("calls", "total")]["change"] == 200.0
    assert (rows[("calls", "successRate")]["current"], rows[("calls", "successRate")]["previous"]) == (
        66.7,
        100.0,
    )
    assert rows[("calls", "successRate")]["change"] == -33.3
    # revenue 1250.50 vs 500.00: +150.1%
    assert rows[("revenue", "total")]["change"] == 150.1


def test_today_so_far_against_the_same_time_yesterday(org_a, agent_a, history, frozen):
    # Today (Nairobi) = [14 Mar 21:00, 15 Mar 12:00) UTC; yesterday = [13 Mar 21:00, 14 Mar 12:00) UTC.
    lead = history["leads"]["L1"]
    ActivityFactory(
        organization=org_a,
        lead=lead,
        agent=agent_a,
        type=ActivityType.CALL,
        outcome="success",
        duration_seconds=60,
        occurred_at=at(15, 10),
    )
    LeadFactory(organization=org_a, created_at=at(15, 6))
    SaleFactory(
        organization=org_a,
        lead=lead,
        agent=agent_a,
        amount=Decimal("200.00"),
        kind="new",
        currency="KES",
        closed_at=at(15, 11),
    )
    today = overview.compute(_query(org_a, range="7d"))["today"]
    # calls: the new one vs C3 (14 Mar 10:00 UTC) -> 1 vs 1; leads: the new one vs L3 (14 Mar 09:00) -> 1 vs 1
    assert today["calls"] == {"today": 1, "sameTimeYesterday": 1, "trend": 0.0}
    assert today["leads"] == {"today": 1, "sameTimeYesterday": 1, "trend": 0.0}
    # revenue 200.00 vs nothing: no trend; no message sent on either day
    assert today["revenue"] == {"today": 200.0, "sameTimeYesterday": 0.0, "trend": None}
    assert today["messagesSent"] == {"today": 0, "sameTimeYesterday": 0, "trend": None}


def test_goals_progress_for_the_month(org_a, manager_a, history, frozen):
    OrganizationGoal.objects.create(organization=org_a, month=at(1).date(), metric="calls", target=10)
    OrganizationGoal.objects.create(organization=org_a, month=at(1).date(), metric="revenue", target=1500)
    OrganizationGoal.objects.create(
        organization=org_a, month=at(1, month=2).date(), metric="conversions", target=9
    )
    goals = overview.compute(_query(org_a, range="7d", source="Ads"))["goals"]
    # March in Nairobi = [28 Feb 21:00 UTC, ...); by 15 Mar 12:00 UTC 14 d 15 h of 31 d: 1,263,600 / 2,678,400 s
    assert goals["month"] == "2026-03"
    assert goals["elapsedPercent"] == 47.2
    items = {g["metric"]: g for g in goals["items"]}
    # Goals are organization-wide (the source filter does not apply): calls C1-C4 = 4 of 10;
    # expected by now 10 x 47.2% = 4.72 -> 4.7; 4 < 4.72: behind pace
    assert items["calls"] == {
        "metric": "calls",
        "label": "Calls",
        "target": 10.0,
        "actual": 4.0,
        "completion": 40.0,
        "expectedByNow": 4.7,
        "onTrack": False,
        "achieved": False,
    }
    # revenue S1 1000 + S2 250.50 + S3 500 (S4 is EUR) = 1750.50 of 1500: 116.7%, achieved
    assert items["revenue"]["actual"] == 1750.5
    assert items["revenue"]["completion"] == 116.7
    assert items["revenue"]["expectedByNow"] == 708.0
    assert items["revenue"]["achieved"] is True
    # conversions: L1 (12 Mar) and L4 (6 Mar) converted in March; February's target is not this month's
    assert items["conversions"]["target"] is None
    assert items["conversions"]["actual"] == 2


def test_overview_csv_tables(org_a, history, frozen):
    payload = overview.compute(_query(org_a, range="7d"))
    tables = overview.csv_tables(payload)
    assert set(tables) == {"comparison", "today", "goals"}
    assert tables["comparison"].header == ("metric", "current", "previous", "change", "change unit")
    assert tables["comparison"].rows[0] == ("Calls", 3, 1, 200.0, "%")
    # a rate's change is in percentage points, labelled so: 2 of 3 calls successful (66.7%)
    # against 1 of 1 (100%) -> 66.67 - 100 = -33.3 pts
    assert tables["comparison"].rows[1] == ("Call success rate", 66.7, 100.0, -33.3, "pts")


def test_comparison_changes_use_unrounded_values():
    # given an average score of 45.65 (shown 45.7) against 46.34 (shown 46.3), and a conversion
    # rate of 26.25% (shown 26.3) against 24.0%
    exact = {
        "leads": {
            "current": {"averageScore": Decimal("45.65"), "conversionRate": Decimal("26.25")},
            "previous": {"averageScore": Decimal("46.34"), "conversionRate": Decimal("24.0")},
        }
    }
    shown = {
        "leads": {
            "current": {"averageScore": 45.7, "conversionRate": 26.3},
            "previous": {"averageScore": 46.3, "conversionRate": 24.0},
        }
    }
    for metric in ("calls", "revenue", "campaigns"):
        shown[metric] = exact[metric] = {"current": {}, "previous": {}}

    # when the comparison rows are built
    rows = {
        r["field"]: r
        for r in overview_present.comparison_rows(shown, comparison_changes(exact))
        if r["metric"] == "leads"
    }

    # then the values shown are the rounded ones, the changes come from the exact ones
    assert rows["averageScore"]["current"] == 45.7
    assert rows["averageScore"]["change"] == -1.5  # (45.65 - 46.34) / 46.34 = -1.489%; rounded: -1.3%
    assert rows["conversionRate"]["change"] == 2.3  # 26.25 - 24.0 = 2.25 pts, half up


# --- the page, the tabs and HTMX ------------------------------------------------------------------


def test_page_renders_overview_with_cards_goals_and_tabs(manager_client, history, frozen):
    response = manager_client.get(PAGE, {"range": "7d"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="overview-tab"' in html
    assert 'data-testid="goal-form"' in html
    for title in ("Overview", "Calls", "Leads", "Revenue", "Campaigns", "Reports"):
        assert f">{title}</a>" in html
    # The calls card links to its records; the revenue card shows KES 1,250.50
    assert "/dashboard/analytics/records/calls?range=7d" in html
    assert "KES 1,250.50" in html


def test_tab_fragment_for_htmx_pushes_the_page_url(manager_client, history, frozen):
    response = manager_client.get("/dashboard/analytics/tab/reports", {"range": "7d"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Push-Url"] == "/dashboard/analytics?range=7d&tab=reports"
    html = response.content.decode()
    assert 'data-testid="reports-tab"' in html
    assert 'id="dash-controls" class="dash-controls" hx-swap-oob="true"' in html


def test_bad_parameters_are_400s_naming_them(manager_client, history, frozen):
    for params, field in (
        ({"range": "2w"}, "range"),
        ({"tab": "sales"}, "tab"),
        ({"region": "Mars"}, "region"),
        ({"range": "custom", "start": "2026-03-10", "end": "2026-03-01"}, "start"),
        ({"agent": "nobody@x.test"}, "agent"),
    ):
        response = manager_client.get(PAGE, params)
        assert response.status_code == 400, params
        assert f"<strong>{field}</strong>" in response.content.decode(), params
    assert manager_client.get("/dashboard/analytics/tab/overview", {"range": "2w"}).status_code == 400
    assert manager_client.get("/dashboard/analytics/tab/nope").status_code == 404


def test_agents_are_refused_and_strangers_sent_to_login(client, agent_a, history):
    assert client.get(PAGE).status_code == 302
    client.force_login(agent_a)
    for url in (
        PAGE,
        "/dashboard/analytics/tab/overview",
        "/dashboard/analytics/records/leads",
        "/dashboard/analytics/export/overview/comparison.csv",
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(
            "/dashboard/analytics/goals", {"metric": "calls", "month": "this", "target": "5"}
        ).status_code
        == 403
    )


def test_page_query_count_does_not_grow_with_the_data(org_a, agent_a, manager_client, frozen):
    build_history(org_a, agent_a)
    with CaptureQueriesContext(connection) as small:
        assert manager_client.get(PAGE, {"range": "30d"}).status_code == 200
    build_history(org_a, agent_a, copy=1)
    build_history(org_a, agent_a, copy=2)
    cache.clear()
    with CaptureQueriesContext(connection) as big:
        assert manager_client.get(PAGE, {"range": "30d"}).status_code == 200
    assert len(big) == len(small)
    with CaptureQueriesContext(connection) as warm:
        assert manager_client.get(PAGE, {"range": "30d"}).status_code == 200
    # Warm: the tab payload comes from the cache; left are the session, the filter choices
    assert len(warm) < len(small)


# --- drill-down records ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/dashboard/analytics/records/leads?range=7d", ["L1", "L2", "L3"]),
        ("/dashboard/analytics/records/leads?range=7d&stage=converted", ["L1"]),
        ("/dashboard/analytics/records/leads?range=7d&stage=lost", ["L3"]),
        ("/dashboard/analytics/records/leads?range=7d&scoreMin=60&scoreMax=79", ["L2"]),
        ("/dashboard/analytics/records/leads?range=7d&noScore=1", ["L3"]),
        ("/dashboard/analytics/records/leads?range=7d&source=Referrals", ["L2"]),
        # any time, organization-wide: T1/T3/T5 (L1, L4) and T4 (L2)
        ("/dashboard/analytics/records/leads?range=7d&campaign=K1", ["L1", "L2", "L4"]),
        # the cohort week of Monday 9 Mar (Nairobi): L1 (10th), L2 (11th), L3 (14th)
        ("/dashboard/analytics/records/leads?cohortWeek=2026-03-09", ["L1", "L2", "L3"]),
        # L1 converted 2 days after creation, L4 1 day after (created 2 Mar week)
        ("/dashboard/analytics/records/leads?cohortWeek=2026-03-09&convertedWithinDays=7", ["L1"]),
        ("/dashboard/analytics/records/leads?range=7d&from=2026-03-11&to=2026-03-14", ["L2", "L3"]),
        ("/dashboard/analytics/records/calls?range=7d", ["C1", "C2", "C3"]),
        ("/dashboard/analytics/records/calls?range=7d&outcome=success", ["C1", "C3"]),
        # 10 Mar 2026 is a Tuesday; the calls are at 10:00 UTC = 13:00 in Nairobi
        ("/dashboard/analytics/records/calls?range=7d&weekday=2&hour=13", ["C1"]),
        ("/dashboard/analytics/records/calls?range=7d&hour=10", []),
        ("/dashboard/analytics/records/calls?range=7d&agent=agent@acme.test", ["C1", "C2"]),
        ("/dashboard/analytics/records/sales?range=7d", ["S1", "S2"]),
        ("/dashboard/analytics/records/sales?range=7d&kind=recurring", ["S2"]),
        ("/dashboard/analytics/records/sales?range=7d&dealMin=250.50&dealMax=1000", ["S2"]),
        # last touch before S1 (L1, 12 Mar 10:00) is T2 (K2); before S2 (L2, 13 Mar) T4 (K1)
        ("/dashboard/analytics/records/sales?range=7d&campaign=K1", ["S2"]),
        ("/dashboard/analytics/records/sales?range=7d&campaign=K2", ["S1"]),
    ],
)
def test_records_behind_a_number(org_a, manager_client, history, frozen, url, expected):
    assert _ids(records_for_url(org_a, url, AS_OF)) == expected
    response = manager_client.get(url)
    assert response.status_code == 200
    assert response.context["page"].paginator.count == len(expected)


def test_records_are_paginated_newest_first_and_export_as_csv(org_a, agent_a, manager_client, frozen):
    for i in range(55):
        ActivityFactory(
            organization=org_a,
            external_id=f"P{i:02d}",
            agent=agent_a,
            type=ActivityType.CALL,
            outcome="success",
            occurred_at=at(14, 0).replace(minute=i),
        )
    first = manager_client.get("/dashboard/analytics/records/calls", {"range": "7d"})
    assert first.context["page"].paginator.num_pages == 2
    assert len(first.context["rows"]) == 50
    assert "range=7d&amp;page=2" in first.content.decode()
    second = manager_client.get("/dashboard/analytics/records/calls", {"range": "7d", "page": "2"})
    assert len(second.context["rows"]) == 5
    rows = _csv(manager_client.get("/dashboard/analytics/records/calls", {"range": "7d", "export": "csv"}))
    assert rows[0][:4] == ["When", "Agent", "Lead", "Outcome"]
    assert len(rows) == 56
    # newest first, in the organization's time: 14 Mar 00:54 UTC = 03:54 Nairobi
    assert rows[1][0] == "2026-03-14 03:54"


def test_records_refuse_bad_parameters(manager_client, history, frozen):
    for params, field in (
        ({"hour": "24"}, "hour"),
        ({"weekday": "0"}, "weekday"),
        ({"stage": "won"}, "stage"),
        ({"dealMin": "1e9"}, "dealMin"),
        ({"cohortWeek": "2026-03-10"}, "cohortWeek"),
        ({"from": "2026-02-30"}, "from"),
        ({"country": "kenya"}, "country"),
        ({"page": "x"}, "page"),
        ({"campaign": "nope"}, "campaign"),
    ):
        kind = "leads" if field in ("stage", "cohortWeek", "campaign", "page") else "calls"
        kind = "sales" if field == "dealMin" else kind
        response = manager_client.get(f"/dashboard/analytics/records/{kind}", params)
        assert response.status_code == 400, params
        assert f"<strong>{field}</strong>" in response.content.decode()
    assert manager_client.get("/dashboard/analytics/records/contacts").status_code == 404


def test_records_of_another_organization_are_invisible(client, outsider, org_a, history, frozen):
    client.force_login(outsider)
    response = client.get("/dashboard/analytics/records/leads", {"range": "1y"})
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 0
    # Org A's campaign id does not exist for org B
    assert client.get("/dashboard/analytics/records/leads", {"campaign": "K1"}).status_code == 400


# --- CSV exports of the tabs ----------------------------------------------------------------------


def test_tab_table_csv(manager_client, history, frozen):
    response = manager_client.get("/dashboard/analytics/export/overview/comparison.csv", {"range": "7d"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="acme-overview-comparison-7d.csv"'
    rows = _csv(response)
    assert rows[0] == ["metric", "current", "previous", "change", "change unit"]
    assert rows[1] == ["Calls", "3", "1", "200.0", "%"]
    assert manager_client.get("/dashboard/analytics/export/overview/nope.csv").status_code == 404
    assert manager_client.get("/dashboard/analytics/export/reports/x.csv").status_code == 404
    assert (
        manager_client.get("/dashboard/analytics/export/overview/comparison.csv", {"range": "x"}).status_code
        == 400
    )


# --- goals and saved views ------------------------------------------------------------------------


def test_manager_sets_a_goal_audited_and_shown(manager_client, org_a, manager_a, history, frozen):
    response = manager_client.post(
        "/dashboard/analytics/goals",
        {"metric": "calls", "month": "this", "target": "10", "query": "range=7d"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/analytics?range=7d"
    goal = OrganizationGoal.objects.get(organization=org_a)
    assert (goal.month.isoformat(), goal.metric, goal.target, goal.set_by) == (
        "2026-03-01",
        "calls",
        10,
        manager_a,
    )
    manager_client.post("/dashboard/analytics/goals", {"metric": "calls", "month": "this", "target": "12"})
    assert OrganizationGoal.objects.get(organization=org_a).target == 12
    audits = AuditLog.objects.filter(action="organization_goal.set").order_by("id")
    assert [a.after["target"] for a in audits] == ["10", "12"]
    assert audits[1].before == {"target": "10.00"}
    html = manager_client.get(PAGE, {"range": "7d"}).content.decode()
    # the cached payload was invalidated: 4 of 12 calls
    assert "4 of 12" in html
    assert "33.3%" in html


def test_goal_form_errors(manager_client, history, frozen):
    bad = manager_client.post(
        "/dashboard/analytics/goals", {"metric": "calls", "month": "this", "target": "2.5"}
    )
    assert bad.status_code == 400
    assert "whole numbers" in bad.content.decode()
    htmx = manager_client.post(
        "/dashboard/analytics/goals",
        {"metric": "fun", "month": "this", "target": "-1"},
        HTTP_HX_REQUEST="true",
    )
    assert htmx.status_code == 200
    assert 'class="field-error"' in htmx.content.decode()
    assert not OrganizationGoal.objects.exists()


def test_saved_views(manager_client, org_a, outsider, history, frozen):
    response = manager_client.post(
        "/dashboard/analytics/views",
        {"name": "Ads, last week", "tab": "calls", "query": "range=7d&source=Ads"},
    )
    assert response.status_code == 302
    view = SavedView.objects.get(organization=org_a)
    assert view.query == "range=7d&source=Ads&tab=calls"
    html = manager_client.get(PAGE, {"tab": "reports"}).content.decode()
    assert "Ads, last week" in html
    assert "/dashboard/analytics?range=7d&amp;source=Ads&amp;tab=calls" in html
    duplicate = manager_client.post("/dashboard/analytics/views", {"name": "Ads, last week", "tab": "calls"})
    assert duplicate.status_code == 400
    stranger = Client()
    stranger.force_login(outsider)
    assert stranger.post(f"/dashboard/analytics/views/{view.pk}/delete").status_code == 404
    assert manager_client.post(f"/dashboard/analytics/views/{view.pk}/delete").status_code == 302
    assert not SavedView.objects.exists()
    assert AuditLog.objects.filter(action__startswith="saved_view.").count() == 2
