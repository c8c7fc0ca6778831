"""Tenancy, roles and bad input of POST /api/analytics/overview."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.insights.factories import build_history

pytestmark = pytest.mark.django_db
URL = "/api/analytics/overview"


@pytest.fixture
def history(org_a, agent_a):
    return build_history(org_a, agent_a)


def post(client, body):
    return client.post(URL, body, format="json")


def test_organization_id_must_be_the_callers(history, manager_a, org_a, org_b, api_client_for):
    client = api_client_for(manager_a)
    assert post(client, {"filters": {"organizationId": org_a.slug}}).status_code == 200
    assert post(client, {"filters": {"organizationId": str(org_a.pk)}}).status_code == 200
    for other in (org_b.slug, str(org_b.pk), "org_123"):
        response = post(client, {"filters": {"organizationId": other}})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_outsider_sees_only_their_own_organization(history, outsider, org_a, api_client_for):
    client = api_client_for(outsider)
    assert post(client, {"filters": {"organizationId": org_a.slug}}).status_code == 404
    data = post(client, {"timeRange": "1y"}).json()["data"]
    assert (data["leads"]["total"], data["calls"]["total"], data["campaigns"]["sent"]) == (0, 0, 0)


def test_agents_get_403_and_anonymous_401(history, agent_a, admin_a, api_client_for):
    assert post(api_client_for(agent_a), {}).status_code == 403
    assert post(APIClient(), {}).status_code == 401
    assert post(api_client_for(admin_a), {}).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timeRange": "2w"}, "timeRange"),
        ({"timeRange": 30}, "timeRange"),
        ({"timeRange": {"start": "2026-03-10"}}, "timeRange.end"),
        ({"timeRange": {"start": "2026-03-12", "end": "2026-03-10"}}, "timeRange"),
        ({"timeRange": {"start": "2025-01-01", "end": "2026-03-10"}}, "timeRange"),
        ({"timeRange": {"start": "1999-12-31", "end": "2000-01-02"}}, "timeRange.start"),
        ({"timeRange": {"start": "2026-02-30", "end": "2026-03-02"}}, "timeRange.start"),
        ({"timeRange": {"start": "10/03/2026", "end": "2026-03-12"}}, "timeRange.start"),
        ({"metrics": ["calls", "profit"]}, "metrics"),
        ({"metrics": []}, "metrics"),
        ({"metrics": "calls"}, "metrics"),
        ({"filters": {"region": "Atlantis"}}, "filters.region"),
        ({"filters": {"productLine": "Nope"}}, "filters.productLine"),
        ({"filters": {"source": "TV"}}, "filters.source"),
        ({"filters": {"agent": "nobody@acme.test"}}, "filters.agent"),
        ({"filters": {"agent": "boss@globex.test"}}, "filters.agent"),
        ({"filters": {"team": "x"}}, "filters.team"),
        ({"filters": ["North"]}, "filters"),
        ({"filters": {"region": "No\x00rth"}}, "filters.region"),
        ({"timeRange": "7d\x00"}, "timeRange"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(history, outsider, manager_a, api_client_for, body, field):
    response = post(api_client_for(manager_a), body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert list(error["details"]) == [field]


def test_body_must_be_an_object(history, manager_a, api_client_for):
    response = post(api_client_for(manager_a), ["30d"])
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["body"]


def test_a_full_year_custom_range_is_allowed(history, manager_a, api_client_for):
    body = {"timeRange": {"start": "2024-01-01", "end": "2024-12-31"}}  # 366 days (leap year)
    assert post(api_client_for(manager_a), body).status_code == 200


def test_overview_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/analytics/overview"]["post"]
    assert operation["requestBody"]
    assert {"200", "400", "403", "404"} <= set(operation["responses"])
