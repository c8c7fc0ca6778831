"""The API conventions of core/api.py (docs/api.md), each pinned on one real operation."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from core.api import inline_serializer
from tests.conftest import jwt_client

pytestmark = pytest.mark.django_db


def test_an_empty_query_value_is_the_parameter_left_out(agent_a):
    client = jwt_client(agent_a)
    # given every parameter empty
    response = client.get("/agent/analytics/revenue-trends?period=&range=&agent=")
    # then the defaults apply: daily over 30 days, for the caller
    assert response.status_code == 200, response.content
    assert (response.json()["period"], response.json()["dateRange"]) == ("daily", "30")
    assert client.get("/agent/analytics/activities?limit=&filter=&cursor=").status_code == 200


def test_a_value_that_only_strips_to_nothing_names_no_member(manager_a, agent_a):
    # "\x1f" is whitespace to str.strip(), but it is not an empty value
    assert jwt_client(manager_a).get("/api/bi/dashboard?agent=%1F").status_code == 404
    assert jwt_client(agent_a).get("/api/bi/dashboard?agent=%1F").status_code == 403


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/agent/analytics/kpis?range=7d&range=30d", "range"),
        ("/api/bi/insights?limit=5&limit=6", "limit"),
        ("/api/analytics/tabs/leads?range=custom&start=2026-11-01&end=2026-11-02&end=2026-11-03", "end"),
    ],
)
def test_a_parameter_sent_twice_is_a_400_naming_it(manager_a, url, name):
    response = jwt_client(manager_a).get(url)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"] == {name: ["Give this parameter once."]}


def test_a_list_parameter_may_be_repeated(manager_a, org_a):
    from tests.factories import CampaignFactory

    CampaignFactory(organization=org_a, external_id="K1")
    CampaignFactory(organization=org_a, external_id="K2")
    response = jwt_client(manager_a).get("/api/analytics/tabs/campaigns?compare=K1&compare=K2")
    assert response.status_code == 200, response.content
    assert response.json()["comparison"]["selected"] == ["K1", "K2"]


def test_inline_serializer_parts_may_be_reused():
    # given one dict of fields and one field instance, each used twice
    parts = {"id": serializers.IntegerField()}
    block = inline_serializer("TestBlock", parts)
    first = inline_serializer("TestFirst", parts)
    second = inline_serializer("TestSecond", {**parts, "current": block, "previous": block})
    # then every serializer has every field, under every name
    assert first.__class__({"id": 1}).data == {"id": 1}
    data = {"id": 2, "current": {"id": 3}, "previous": {"id": 4}}
    assert second.__class__(data).data == data


def test_a_post_without_the_trailing_slash_is_served_not_redirected(client, manager_a):
    """APPEND_SLASH's 301 turned a POST into a bodiless GET at the client: an API address
    without its slash is served as the one with it (issue 20); a GET keeps the redirect."""
    from tests.conftest import PASSWORD

    body = {"email": manager_a.email, "password": PASSWORD}
    with_slash = client.post("/api/auth/token/", body, content_type="application/json")
    without = client.post("/api/auth/token", body, content_type="application/json")
    assert with_slash.status_code == without.status_code == 200
    assert set(without.json()) == {"access", "refresh"}
    # an address defined without a slash is left as it is
    ticket = jwt_client(manager_a).post("/api/v1/bi/ws-ticket", {}, format="json")
    assert ticket.status_code == 201
    assert client.get("/api/docs").status_code == 301
    # an address that is no route with or without the slash stays the JSON 404
    missing = client.post("/api/v1/no-such-thing", {}, content_type="application/json")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
