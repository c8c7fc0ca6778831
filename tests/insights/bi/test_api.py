"""/api/bi/: every endpoint with the manager (the organization), the agent (their own leads),
the outsider (organization B: 404 for A's ids, none of A's rows) and anonymous (401);
filters, pagination, bad input, resolve twice, every status move, audit rows, query counts.

The world is tests/insights/bi/factories_ui.py build_bi_world, at AS_OF = 22 Nov 2026 12:00
UTC: the 30-day window is [23 Oct 12:00, 22 Nov 12:00) and the previous one the 30 days
before it.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.db import OperationalError, connection, connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from crm.models import AuditLog
from insights.bi import actions, api
from insights.bi.models import (
    OPPORTUNITY_TRANSITIONS,
    BusinessInsight,
    Opportunity,
    OpportunityStatus,
    OpportunityStatusChange,
)
from tests.conftest import jwt_client
from tests.insights.bi.factories_ui import (
    AS_OF,
    InsightFactory,
    MetricFactory,
    OpportunityFactory,
    ago,
    build_bi_world,
)

pytestmark = pytest.mark.django_db

GETS = [
    "/api/bi/dashboard",
    "/api/bi/insights",
    "/api/bi/insights/missed-opportunities",
    "/api/bi/insights/upsell-potential",
    "/api/bi/metrics",
]


@pytest.fixture(autouse=True)
def frozen():
    cache.clear()
    with time_machine.travel(AS_OF, tick=False):
        yield
    cache.clear()


@pytest.fixture
def bi(org_a, manager_a, agent_a, outsider):
    return build_bi_world(org_a, manager_a, agent_a, outsider)


def ids(body) -> list[int]:
    return [item["id"] for item in body["results"]]


def resolve_url(insight) -> str:
    return f"/api/bi/insights/{insight.pk}/resolve"


def status_url(opportunity) -> str:
    return f"/api/bi/opportunities/{opportunity.pk}/update-status"


# --- who may call -------------------------------------------------------------------------


@pytest.mark.parametrize("url", GETS)
def test_anonymous_gets_401_in_the_error_shape(bi, url):
    response = APIClient().get(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("kind", ["resolve", "status"])
def test_anonymous_cannot_write(bi, kind):
    url = resolve_url(bi.insights["lead"]) if kind == "resolve" else status_url(bi.opportunities["alan"])
    response = APIClient().post(url, {"status": "in_progress"}, format="json")
    assert response.status_code == 401
    assert not AuditLog.objects.filter(
        action__startswith=("insight" if kind == "resolve" else "opportunity")
    ).exists()


@pytest.mark.parametrize("url", GETS)
def test_session_login_works_too(bi, client, url):
    client.force_login(bi.manager)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", GETS)
def test_agent_naming_a_colleague_is_403_and_manager_naming_an_outsider_is_404(bi, url):
    response = jwt_client(bi.alan).get(f"{url}?agent={bi.bea.email}")
    assert response.status_code == 403
    assert "Bea" not in response.content.decode()
    response = jwt_client(bi.manager).get(f"{url}?agent={bi.outsider.email}")
    assert response.status_code == 404
    assert response.json() == jwt_client(bi.manager).get(f"{url}?agent=nobody@nowhere.test").json()


# --- dashboard ----------------------------------------------------------------------------


def test_dashboard_for_the_manager_is_the_whole_organization(bi):
    body = jwt_client(bi.manager).get("/api/bi/dashboard").json()
    summary = body["summary"]
    # leads created in 30 days: L1 L2 L3, L1 converted = 33.3%; before: L4, none = 0.0%
    assert summary["conversionRate"] == {
        "value": 33.3,
        "previous": 0.0,
        "change": 33.3,
        "changeUnit": "points",
    }
    # sales 1000 + 500 against 750: +100%
    assert summary["revenue"] == {
        "value": 1500.0,
        "previous": 750.0,
        "change": 100.0,
        "changeUnit": "percent",
    }
    # calls 3 against 1: +200%
    assert summary["calls"] == {"value": 3, "previous": 1, "change": 200.0, "changeUnit": "percent"}
    # open: lead (high), bea (medium), perf and org (low) = 4; open 30 days ago: org only (old
    # was resolved 35 days ago) = 1: +300%
    assert summary["openInsights"] == {
        "value": 4,
        "previous": 1,
        "change": 300.0,
        "changeUnit": "percent",
        "byPriority": {"high": 1, "medium": 1, "low": 2},
    }
    # open now: 1000 + 400 + 2000 = 3400, weighted 700 + 200 + 900 = 1800; open 30 days ago:
    # "conv" (created 50 days ago, converted 5 days ago) = 500: (3400 - 500) / 500 = +580%
    assert summary["openPipeline"] == {
        "value": 3400.0,
        "previous": 500.0,
        "change": 580.0,
        "changeUnit": "percent",
        "weightedValue": 1800.0,
        "count": 3,
    }
    assert body["pipeline"] == [
        {
            "status": "identified",
            "label": "Identified",
            "count": 2,
            "estimatedValue": 1400.0,
            "weightedValue": 900.0,
        },
        {
            "status": "in_progress",
            "label": "In progress",
            "count": 1,
            "estimatedValue": 2000.0,
            "weightedValue": 900.0,
        },
        {
            "status": "converted",
            "label": "Converted",
            "count": 1,
            "estimatedValue": 500.0,
            "weightedValue": 450.0,
        },
        {"status": "lost", "label": "Lost", "count": 1, "estimatedValue": 300.0, "weightedValue": 60.0},
    ]
    breakdown = {
        row["type"]: (row["count"], row["previous"], row["change"]) for row in body["activityBreakdown"]
    }
    assert breakdown["call"] == (3, 1, 200.0)
    assert breakdown["email"] == (1, 0, None)
    assert breakdown["meeting"] == (0, 1, -100.0)
    assert {row["status"]: (row["count"], row["share"]) for row in body["leadStatus"]} == {
        "new": (1, 25.0),
        "contacted": (1, 25.0),
        "interested": (1, 25.0),
        "converted": (1, 25.0),
        "lost": (0, 0.0),
    }
    # top insights: high first, then medium, then the low ones by impact, newest first
    assert [i["id"] for i in body["topInsights"]] == [
        bi.insights[k].pk for k in ("lead", "bea", "perf", "org")
    ]
    assert body["agent"] is None
    assert body["range"]["timezone"] == "Africa/Nairobi"
    assert body["range"]["currency"] == "KES"


def test_dashboard_for_an_agent_is_their_own_part(bi):
    response = jwt_client(bi.alan).get("/api/bi/dashboard")
    body = response.json()
    summary = body["summary"]
    # Alan's leads created in 30 days: L1 (converted), L2 = 50.0%; before: L4 = 0.0%
    assert summary["conversionRate"]["value"] == 50.0
    assert summary["conversionRate"]["change"] == 50.0
    assert (summary["revenue"]["value"], summary["revenue"]["change"]) == (1000.0, 33.3)  # 1000 vs 750
    assert (summary["calls"]["value"], summary["calls"]["previous"]) == (2, 1)
    # visible: lead (on L2, his) high, perf (about him) low; old (on L1) resolved before the window
    assert summary["openInsights"]["byPriority"] == {"high": 1, "medium": 0, "low": 1}
    assert summary["openInsights"]["change"] is None
    # his: "alan" (owner) and "lead" (his lead L2) identified, "lost" (owner)
    assert [(c["status"], c["count"], c["estimatedValue"]) for c in body["pipeline"]] == [
        ("identified", 2, 1400.0),
        ("in_progress", 0, 0.0),
        ("converted", 0, 0.0),
        ("lost", 1, 300.0),
    ]
    assert {r["type"]: r["count"] for r in body["activityBreakdown"] if r["count"]} == {"call": 2, "email": 1}
    assert {r["status"]: r["count"] for r in body["leadStatus"] if r["count"]} == {
        "new": 1,
        "contacted": 1,
        "converted": 1,
    }
    assert [i["id"] for i in body["topInsights"]] == [bi.insights["lead"].pk, bi.insights["perf"].pk]
    assert body["agent"] == {"id": bi.alan.pk, "name": bi.alan.name}
    text = response.content.decode()
    assert "Bea" not in text
    assert "Otieno" not in text


def test_a_manager_can_look_at_one_agent_as_they_see_it(bi):
    as_manager = jwt_client(bi.manager).get(f"/api/bi/dashboard?agent={bi.alan.email}").json()
    as_agent = jwt_client(bi.alan).get("/api/bi/dashboard").json()
    assert as_manager["summary"] == as_agent["summary"]
    assert as_manager["pipeline"] == as_agent["pipeline"]


def test_outsider_sees_only_their_organization(bi):
    body = jwt_client(bi.outsider).get("/api/bi/dashboard").json()
    assert body["summary"]["openInsights"]["value"] == 1
    assert [i["id"] for i in body["topInsights"]] == [bi.insight_b.pk]
    assert sum(c["count"] for c in body["pipeline"]) == 1
    listed = jwt_client(bi.outsider).get("/api/bi/insights").json()
    assert ids(listed) == [bi.insight_b.pk]


# --- insight lists ----------------------------------------------------------------------------


def test_insights_for_the_manager_newest_first(bi):
    body = jwt_client(bi.manager).get("/api/bi/insights").json()
    # created 1 day ago (lead, bea: the later id first), 2 days (perf), 40 (org), 50 (old)
    assert ids(body) == [bi.insights[k].pk for k in ("bea", "lead", "perf", "org", "old")]
    assert body["nextCursor"] is None
    item = next(i for i in body["results"] if i["id"] == bi.insights["lead"].pk)
    assert item["lead"] == {
        "id": bi.leads["L2"].pk,
        "externalId": "L2",
        "name": "Wanjiru Foods",
        "status": "new",
    }
    assert item["evidence"] == {"score": 82, "days_idle": 9, "expectedValue": 4500.0}
    assert item["actionItems"] == ["Call the lead today", "Log the outcome"]
    assert (item["impact"], item["resolved"], item["resolvedBy"]) == (4500.0, False, None)
    old = next(i for i in body["results"] if i["id"] == bi.insights["old"].pk)
    assert old["resolvedBy"] == {"id": bi.manager.pk, "name": "Mia Manager"}
    assert old["resolutionNote"] == "Called"


def test_insights_for_an_agent_are_those_of_their_leads_or_about_them(bi):
    body = jwt_client(bi.alan).get("/api/bi/insights").json()
    assert ids(body) == [bi.insights[k].pk for k in ("lead", "perf", "old")]
    # the manager who resolved "old" may be named; Bea never
    assert "Bea" not in str(body)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=missed_opportunity", ["lead", "old"]),
        ("type=engagement_trend", ["org"]),
        ("priority=low", ["perf", "org"]),
        ("resolved=true", ["old"]),
        ("resolved=false", ["bea", "lead", "perf", "org"]),
        ("lead={L2}", ["lead"]),
        ("start=2026-11-20", ["bea", "lead", "perf"]),  # created 21 Nov 15:00 and 20 Nov 15:00 local
        ("start=2026-10-10&end=2026-10-31", ["org"]),  # 13 Oct (old: 3 Oct)
        ("end=2026-10-12", ["old"]),  # 3 Oct
        ("type=missed_opportunity&resolved=false&priority=high", ["lead"]),
        ("lead=999999", []),
    ],
)
def test_insight_filters(bi, query, expected):
    query = query.replace("{L2}", str(bi.leads["L2"].pk))
    body = jwt_client(bi.manager).get(f"/api/bi/insights?{query}").json()
    assert ids(body) == [bi.insights[k].pk for k in expected]


def test_cursor_pagination_walks_every_row_once(bi):
    for n in range(23):
        InsightFactory(organization=bi.org, created_at=ago(3 + n / 10), title=f"Extra {n}")
    client = jwt_client(bi.manager)
    seen, cursor, pages = [], "", 0
    while True:
        body = client.get(f"/api/bi/insights?limit=10{'&cursor=' + cursor if cursor else ''}").json()
        seen += ids(body)
        pages += 1
        cursor = body["nextCursor"]
        if not cursor:
            break
    assert pages == 3  # 28 rows: 10 + 10 + 8
    assert len(seen) == len(set(seen)) == BusinessInsight.objects.filter(organization=bi.org).count() == 28
    assert client.get("/api/bi/insights?limit=100").json()["nextCursor"] is None


def test_missed_opportunities_rank_by_expected_value_and_page_through_unranked(bi):
    InsightFactory(organization=bi.org, type="missed_opportunity", impact=Decimal("9000.00"), title="Biggest")
    InsightFactory(organization=bi.org, type="missed_opportunity", impact=None, title="Unranked")
    client = jwt_client(bi.manager)
    first = client.get("/api/bi/insights/missed-opportunities?limit=2").json()
    second = client.get(f"/api/bi/insights/missed-opportunities?limit=2&cursor={first['nextCursor']}").json()
    titles = [i["title"] for i in first["results"] + second["results"]]
    # 9000; then "old" and "lead" at 4500 each (the later id first); the unranked one last
    assert titles == ["Biggest", "Kamau Traders waited a week", "Wanjiru Foods has gone quiet", "Unranked"]
    assert second["nextCursor"] is None
    # ?type= cannot widen the endpoint
    typed = client.get("/api/bi/insights/missed-opportunities?type=engagement_trend").json()
    assert {i["type"] for i in typed["results"]} == {"missed_opportunity"}


def test_upsell_potential_lists_only_that_type_and_scopes_agents(bi):
    body = jwt_client(bi.manager).get("/api/bi/insights/upsell-potential").json()
    assert ids(body) == [bi.insights["bea"].pk]
    assert ids(jwt_client(bi.alan).get("/api/bi/insights/upsell-potential").json()) == []
    assert ids(jwt_client(bi.bea).get("/api/bi/insights/upsell-potential").json()) == [bi.insights["bea"].pk]


@pytest.mark.parametrize(
    ("url", "query", "field"),
    [
        ("/api/bi/insights", "type=bogus", "type"),
        ("/api/bi/insights", "priority=urgent", "priority"),
        ("/api/bi/insights", "resolved=maybe", "resolved"),
        ("/api/bi/insights", "lead=abc", "lead"),
        ("/api/bi/insights", "lead=-1", "lead"),
        ("/api/bi/insights", "start=2026-02-30", "start"),
        ("/api/bi/insights", "start=0000-01-01", "start"),
        ("/api/bi/insights", "end=9999-12-31", "end"),
        ("/api/bi/insights", "start=2026-11-10&end=2026-11-01", "start"),
        ("/api/bi/insights", "limit=0", "limit"),
        ("/api/bi/insights", "limit=101", "limit"),
        ("/api/bi/insights", "limit=1.5", "limit"),
        ("/api/bi/insights", "cursor=%25%25%25", "cursor"),
        ("/api/bi/insights", "cursor=bm90fGF8Y3Vyc29y", "cursor"),
        ("/api/bi/insights/missed-opportunities", "cursor=eHx5", "cursor"),
        ("/api/bi/insights/upsell-potential", "priority=x", "priority"),
        ("/api/bi/metrics", "metric=happiness", "metric"),
        ("/api/bi/metrics", "period=yearly", "period"),
        ("/api/bi/metrics", "range=45d", "range"),
        ("/api/bi/metrics", "start=2026-01-01", "end"),
        ("/api/bi/metrics", "start=2025-01-01&end=2026-06-30", "end"),
        ("/api/bi/metrics", "range=7d&start=2026-11-01&end=2026-11-02", "range"),
    ],
)
def test_bad_query_values_are_400_naming_the_field(bi, url, query, field):
    for member in (bi.manager, bi.alan):
        response = jwt_client(member).get(f"{url}?{query}")
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == "bad_request"
        assert list(error["details"]) == [field]


# --- metrics ------------------------------------------------------------------------------


@pytest.fixture
def series(bi):
    """Rows as the nightly job stores them: the value is shown from numerator / denominator."""

    def row(day, numerator, denominator, **extra):
        return MetricFactory(
            organization=bi.org,
            period_start=day,
            numerator=Decimal(numerator),
            denominator=Decimal(denominator),
            **extra,
        )

    row("2026-11-18", 1, 5)  # 20.0%
    row("2026-11-20", 1, 4)  # 25.0%
    row("2026-11-21", 0, 0)  # a rate over nothing: null
    row("2026-10-01", 1, 20)  # 5.0%, outside the last 30 days
    row("2026-11-20", 1, 2, agent=bi.alan)  # 50.0%
    row("2026-11-20", 4, 5, agent=bi.bea)  # 80.0%
    row("2026-11-16", 6, 3, metric="lead_velocity", period="week")  # (6 - 3) / 3 = +100.0%
    MetricFactory(organization=bi.org_b, period_start="2026-11-20", numerator=99, denominator=100)


def points(body, metric="conversion_rate") -> list[tuple[str, float | None]]:
    found = next(s for s in body["series"] if s["metric"] == metric)
    return [(p["periodStart"], p["value"]) for p in found["points"]]


def test_metrics_of_the_organization(bi, series):
    body = jwt_client(bi.manager).get("/api/bi/metrics?metric=conversion_rate").json()
    assert points(body) == [("2026-11-18", 20.0), ("2026-11-20", 25.0), ("2026-11-21", None)]
    assert next(s for s in body["series"] if s["metric"] == "conversion_rate")["points"][0] == {
        "periodStart": "2026-11-18",
        "value": 20.0,
        "numerator": 1.0,
        "denominator": 5.0,
        "complete": True,
    }
    assert body["period"] == "day"
    assert body["agent"] is None
    assert [s["metric"] for s in body["series"]] == ["conversion_rate"]
    every = jwt_client(bi.manager).get("/api/bi/metrics").json()
    assert len(every["series"]) == 7
    weekly = jwt_client(bi.manager).get("/api/bi/metrics?period=week&metric=lead_velocity&range=7d").json()
    assert points(weekly, "lead_velocity") == [("2026-11-16", 100.0)]  # the week of 16 Nov overlaps 7d
    custom = jwt_client(bi.manager).get(
        "/api/bi/metrics?metric=conversion_rate&start=2026-10-01&end=2026-10-31"
    )
    assert points(custom.json()) == [("2026-10-01", 5.0)]
    assert jwt_client(bi.manager).get("/api/bi/metrics?range=24h").json()["range"]["label"] == "24h"


def test_metrics_of_an_agent_are_their_own(bi, series):
    own = jwt_client(bi.alan).get("/api/bi/metrics?metric=conversion_rate").json()
    assert points(own) == [("2026-11-20", 50.0)]
    assert own["agent"] == {"id": bi.alan.pk, "name": bi.alan.name}
    looked_at = (
        jwt_client(bi.manager).get(f"/api/bi/metrics?metric=conversion_rate&agent={bi.bea.email}").json()
    )
    assert points(looked_at) == [("2026-11-20", 80.0)]
    outsider = jwt_client(bi.outsider).get("/api/bi/metrics?metric=conversion_rate").json()
    assert points(outsider) == [("2026-11-20", 99.0)]


# --- resolve --------------------------------------------------------------------------------


def test_manager_resolves_with_a_note_and_a_second_time_is_409(bi):
    insight = bi.insights["lead"]
    client = jwt_client(bi.manager)
    response = client.post(resolve_url(insight), {"note": "  Called, meeting Friday "}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["resolved"] is True
    assert body["resolvedAt"] == AS_OF.isoformat()
    assert body["resolvedBy"] == {"id": bi.manager.pk, "name": "Mia Manager"}
    assert body["resolutionNote"] == "Called, meeting Friday"
    insight.refresh_from_db()
    assert (insight.resolved_by, insight.resolved_at, insight.resolution_note) == (
        bi.manager,
        AS_OF,
        "Called, meeting Friday",
    )
    audit = AuditLog.objects.get(action="insight.resolve")
    assert (audit.organization, audit.actor, audit.object_type, audit.object_id) == (
        bi.org,
        bi.manager,
        "BusinessInsight",
        str(insight.pk),
    )
    assert audit.before == {"resolved_at": None, "resolved_by": None, "resolution_note": ""}
    assert audit.after == {
        "resolved_at": AS_OF.isoformat(),
        "resolved_by": bi.manager.email,
        "resolution_note": "Called, meeting Friday",
    }

    again = jwt_client(bi.alan).post(resolve_url(insight), {}, format="json")
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "already_resolved"
    assert "already resolved by Mia Manager at 2026-11-22 12:00" in error["message"]
    assert AuditLog.objects.filter(action="insight.resolve").count() == 1


def test_note_is_optional_and_bounded(bi):
    client = jwt_client(bi.manager)
    assert client.post(resolve_url(bi.insights["perf"])).status_code == 200
    too_long = client.post(resolve_url(bi.insights["org"]), {"note": "x" * 2001}, format="json")
    assert too_long.status_code == 400
    assert list(too_long.json()["error"]["details"]) == ["note"]
    not_text = client.post(resolve_url(bi.insights["org"]), {"note": {"a": 1}}, format="json")
    assert not_text.status_code == 400
    assert BusinessInsight.objects.get(pk=bi.insights["org"].pk).resolved_at is None


def test_agents_resolve_their_own_insights_only(bi):
    assert jwt_client(bi.alan).post(resolve_url(bi.insights["perf"])).status_code == 200
    hidden = jwt_client(bi.alan).post(resolve_url(bi.insights["bea"]))
    missing = jwt_client(bi.alan).post("/api/bi/insights/999999/resolve")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert BusinessInsight.objects.get(pk=bi.insights["bea"].pk).resolved_at is None


def test_another_organizations_insight_is_404_like_a_missing_one(bi):
    response = jwt_client(bi.outsider).post(resolve_url(bi.insights["lead"]))
    missing = jwt_client(bi.outsider).post("/api/bi/insights/999999/resolve")
    assert response.status_code == 404
    assert (
        response.json()
        == missing.json()
        == {"error": {"code": "not_found", "message": "business insight not found", "details": {}}}
    )
    assert jwt_client(bi.manager).post(resolve_url(bi.insight_b)).status_code == 404
    assert not AuditLog.objects.filter(action="insight.resolve").exists()


# --- opportunity status ---------------------------------------------------------------------

ALL_MOVES = [(a, b) for a in OpportunityStatus.values for b in OpportunityStatus.values]


@pytest.mark.parametrize(("current", "wanted"), ALL_MOVES)
def test_every_status_move(bi, current, wanted):
    opportunity = OpportunityFactory(organization=bi.org, status=current, owner=bi.alan)
    response = jwt_client(bi.manager).post(
        status_url(opportunity), {"status": wanted, "note": "why"}, format="json"
    )
    opportunity.refresh_from_db()
    if wanted in OPPORTUNITY_TRANSITIONS[current]:
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["status"], opportunity.status) == (wanted, wanted)
        assert opportunity.status_changed_at == AS_OF
        assert (opportunity.closed_at == AS_OF) == (wanted in ("converted", "lost"))
        assert body["allowedStatuses"] == list(OPPORTUNITY_TRANSITIONS[wanted])
        assert body["history"] == [
            {
                "fromStatus": current,
                "toStatus": wanted,
                "note": "why",
                "actor": {"id": bi.manager.pk, "name": "Mia Manager"},
                "changedAt": AS_OF.isoformat(),
            }
        ]
        audit = AuditLog.objects.get(action="opportunity.status_change", object_id=str(opportunity.pk))
        assert audit.before == {"status": current, "closed_at": None}
        assert (audit.after["status"], audit.after["note"]) == (wanted, "why")
    else:
        assert response.status_code == 400
        assert list(response.json()["error"]["details"]) == ["status"]
        assert opportunity.status == current
        assert not OpportunityStatusChange.objects.filter(opportunity=opportunity).exists()
        assert not AuditLog.objects.filter(action="opportunity.status_change").exists()


@pytest.mark.parametrize("body", [{}, {"status": "won"}, {"status": ""}, {"status": 3}, ["in_progress"]])
def test_a_bad_status_is_400_naming_it(bi, body):
    response = jwt_client(bi.manager).post(status_url(bi.opportunities["alan"]), body, format="json")
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert "status" in details or "non_field_errors" in details
    assert Opportunity.objects.get(pk=bi.opportunities["alan"].pk).status == "identified"


def test_a_full_journey_keeps_its_history(bi):
    opportunity, client = bi.opportunities["lead"], jwt_client(bi.alan)  # his lead's opportunity
    assert client.post(status_url(opportunity), {"status": "in_progress"}, format="json").status_code == 200
    body = client.post(status_url(opportunity), {"status": "converted"}, format="json").json()
    assert [(h["fromStatus"], h["toStatus"]) for h in body["history"]] == [
        ("identified", "in_progress"),
        ("in_progress", "converted"),
    ]
    assert body["allowedStatuses"] == []
    assert client.post(status_url(opportunity), {"status": "lost"}, format="json").status_code == 400


def test_opportunities_of_others_are_404(bi):
    hidden = jwt_client(bi.alan).post(
        status_url(bi.opportunities["bea"]), {"status": "converted"}, format="json"
    )
    outsider = jwt_client(bi.outsider).post(
        status_url(bi.opportunities["alan"]), {"status": "in_progress"}, format="json"
    )
    missing = jwt_client(bi.alan).post(
        "/api/bi/opportunities/999999/update-status", {"status": "in_progress"}, format="json"
    )
    assert hidden.status_code == outsider.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert not OpportunityStatusChange.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_moves_cannot_both_apply(org_a, manager_a, agent_a):
    """Two requests move the same identified opportunity at once: the row lock makes the
    second see the first's result (PostgreSQL: it waits, then the move is refused; SQLite
    refuses the second writer outright)."""
    opportunity = OpportunityFactory(organization=org_a)
    barrier, outcomes = threading.Barrier(2), []

    def move(actor):
        try:
            barrier.wait()
            actions.opportunity_status_update(opportunity=opportunity, actor=actor, status="in_progress")
            outcomes.append("moved")
        except (actions.InvalidTransition, OperationalError) as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=move, args=(who,)) for who in (manager_a, agent_a)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[-1] == "moved"
    assert outcomes.count("moved") == 1
    if connection.vendor == "postgresql":
        assert "InvalidTransition" in outcomes
    assert OpportunityStatusChange.objects.filter(opportunity=opportunity).count() == 1


# --- query counts ---------------------------------------------------------------------------


def count_queries(client, url, method="get", body=None) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        response = (
            getattr(client, method)(url, body, format="json")
            if body is not None
            else getattr(client, method)(url)
        )
    assert response.status_code in (200, 201), response.content
    return len(ctx.captured_queries)


def grow(bi, times: int) -> None:
    for n in range(times):
        resolved = n % 2 == 1
        InsightFactory(
            organization=bi.org,
            lead=bi.leads["L2"],
            agent=bi.alan,
            title=f"More {n}",
            resolved_at=ago(1) if resolved else None,
            resolved_by=bi.bea if resolved else None,
        )
        OpportunityFactory(
            organization=bi.org, owner=bi.bea, lead=bi.leads["L1"], status=OpportunityStatus.values[n % 4]
        )
        MetricFactory(
            organization=bi.org,
            agent=bi.alan,
            period_start=f"2026-11-{n % 20 + 1:02d}",
            metric=["conversion_rate", "response_rate"][n // 20],
        )


@pytest.mark.parametrize(
    "url",
    [
        *GETS,
        "/api/bi/insights?type=missed_opportunity&resolved=false&limit=100",
        "/api/bi/metrics?period=week",
    ],
)
@pytest.mark.parametrize("who", ["manager", "alan"])
def test_query_count_does_not_grow_with_the_data(bi, url, who, django_assert_max_num_queries):
    client = jwt_client(getattr(bi, who))
    small = count_queries(client, url)
    grow(bi, 40)
    assert count_queries(client, url) == small
    cache.clear()
    # measured: 12 for the dashboard (auth, the overview's rollup and live totals, insight
    # counts, pipeline, activities, lead statuses, top insights), 3 for a list or a series
    with django_assert_max_num_queries(14 if "dashboard" in url else 4):
        client.get(url)


def test_writes_take_a_fixed_number_of_queries(bi, django_assert_max_num_queries):
    client = jwt_client(bi.manager)
    grow(bi, 10)
    with django_assert_max_num_queries(12):
        assert client.post(resolve_url(bi.insights["lead"]), {"note": "x"}, format="json").status_code == 200
    with django_assert_max_num_queries(12):
        assert (
            client.post(
                status_url(bi.opportunities["alan"]), {"status": "in_progress"}, format="json"
            ).status_code
            == 200
        )


# --- documented shapes ----------------------------------------------------------------------


def documented(serializer) -> set[str]:
    return set(serializer.fields)


def test_answers_have_exactly_the_documented_keys(bi):
    client = jwt_client(bi.manager)
    dashboard = client.get("/api/bi/dashboard").json()
    assert set(dashboard) == documented(api.DASHBOARD)
    assert set(dashboard["summary"]) == documented(api.DASHBOARD.fields["summary"])
    listed = client.get("/api/bi/insights").json()
    assert set(listed) == documented(api.INSIGHT_LIST)
    assert all(set(item) == documented(api.INSIGHT) for item in listed["results"])
    assert set(client.get("/api/bi/metrics").json()) == documented(api.METRICS)
    moved = client.post(status_url(bi.opportunities["alan"]), {"status": "in_progress"}, format="json").json()
    assert set(moved) == documented(api.OPPORTUNITY_UPDATED)
