"""G4 and G5 as far as the product exists: nothing of organization B in anything A's members
can fetch, and nothing of another agent in anything an agent can fetch.

Every GET route of the policy (pages, HTMX partials with HX-Request and HX-Current-URL, JSON)
is fetched as each member persona of A, with A's objects and with B's (which answer 404),
with the default query and a one-year range, and each body and header is searched for the
marker values seeded in B (tests/security/conftest.py). A positive control fetches the same
routes as B's admin and finds the markers, so a search that cannot find anything fails.

Exports (PDF, XLSX, CSV) and scheduled e-mails: test_no_leaks_exports.py. WebSocket frames
(the rest of G4) do not exist yet.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.security.conftest import (
    MARKER_ACTIVITY,
    MARKER_AGENT_EMAIL,
    MARKER_AGENT_NAME,
    MARKER_FILENAME,
    MARKER_IMPORT_ERROR,
    MARKER_INSIGHT,
    MARKER_LEAD,
    MARKER_OPPORTUNITY,
    MARKER_SOURCE,
    MEMBERS_OF_A,
    ORG_B_NAME,
    PERSONA,
    Persona,
    World,
    client_for,
)
from tests.security.policy import NON_OBJECTS, PATH_PARAMS, POLICY, Route, policy_routes

pytestmark = pytest.mark.django_db

GET_ROUTES = [route for route in policy_routes() if "GET" in POLICY[route.name].methods]
QUERIES = ("", "range=1y&period=monthly&filter=all&sort=-revenue")


def route_id(route: Route) -> str:
    return route.name


def object_variants(route: Route, persona: Persona) -> tuple[str, ...]:
    """The persona's own objects and the other organization's (answering 404)."""
    other = "B" if persona.org == "A" else "A"
    if any(PATH_PARAMS[param] not in NON_OBJECTS for param in route.params):
        return (persona.org, other)
    if POLICY[route.name].query_objects:
        return ("-", persona.org, other)  # yourself, someone of yours, someone of theirs
    return ("-",)


def url_for(world: World, route: Route, variant: str, query: str) -> str:
    values = {
        param: world.object_value(PATH_PARAMS[param], variant if variant != "-" else "A")
        for param in route.params
    }
    url = route.url(**values)
    params = [query] if query else []
    if POLICY[route.name].query_objects and variant != "-":
        params.append(f"agent={quote(str(world.object_value('agent_email', variant)))}")
    return f"{url}?{'&'.join(params)}" if params else url


def fetch_all(world: World, persona: Persona, route: Route, *, variants: tuple[str, ...] | None = None):
    """(url, label, response, headers and body as text) of every response of `route` for
    `persona`: each object variant, each query, and for pages once more as HTMX."""
    client = client_for(world, persona, route.kind)
    for variant in variants or object_variants(route, persona):
        for query in QUERIES:
            url = url_for(world, route, variant, query)
            header_sets = [{}]
            if route.kind == "html":
                header_sets.append({"HX-Request": "true", "HX-Current-URL": f"http://testserver{url}"})
            for headers in header_sets:
                response = client.get(url, headers=headers)
                body = (
                    b"".join(response.streaming_content) if response.streaming else response.content
                ).decode()  # CSV downloads stream
                assert response.status_code < 500, (url, body[:1000])
                head = " ".join(f"{k}: {v}" for k, v in response.headers.items())
                label = f"GET {url}{' (htmx)' if headers else ''} -> {response.status_code}"
                yield url, label, response, f"{head}\n{body}"


def b_object_urls(world: World) -> list[str]:
    return [f"/import/{world.run_b.pk}/", f"/agents/{world.agent_b.pk}/"]


@pytest.mark.parametrize("route", GET_ROUTES, ids=route_id)
@pytest.mark.parametrize("persona", MEMBERS_OF_A, ids=lambda p: p.key)
def test_nothing_of_organization_b_reaches_a(world, persona, route):
    markers = world.markers()
    hits = []
    for url, label, _response, text in fetch_all(world, persona, route):
        lowered = text.lower()
        hits += [(label, marker) for marker in markers if marker.lower() in lowered]
        # links to B's objects, except in the answer to a request that itself named one
        b_urls = b_object_urls(world)
        if not any(url.startswith(b_url) for b_url in b_urls):
            hits += [(label, b_url) for b_url in b_urls if b_url in text]
    assert not hits, hits


# The markers B's own admin must find somewhere, or the search above proves nothing.
VISIBLE_TO_B = (
    MARKER_AGENT_NAME,
    MARKER_AGENT_EMAIL,
    MARKER_FILENAME,
    MARKER_IMPORT_ERROR,
    MARKER_ACTIVITY,
    MARKER_LEAD,
    MARKER_SOURCE,
    MARKER_INSIGHT,  # the /insights page and /api/bi/ (tests/security/conftest.py)
    MARKER_OPPORTUNITY,
    ORG_B_NAME,
)


def test_positive_control_b_sees_its_markers(world):
    persona = PERSONA["admin_b"]
    texts = []
    for route in GET_ROUTES:
        variants = ("B",) if object_variants(route, persona) != ("-",) else None
        texts += [
            text for _url, _label, _response, text in fetch_all(world, persona, route, variants=variants)
        ]
    seen = "\n".join(texts)
    missing = [marker for marker in VISIBLE_TO_B if marker not in seen]
    assert not missing, f"markers B cannot see anywhere (the leak search would miss them): {missing}"
    amounts = [form for form in world.markers() if form[:3] in ("987", "988") and form in seen]
    assert amounts, "the marker sale amount is shown to B in no known form"
    assert any(url in seen for url in b_object_urls(world))


# --- G5: agents see only themselves ----------------------------------------------------------

KPI_KEYS = {"agentId", "dateRange", "kpis", "trends", "trendUnits"}
KPI_FIELDS = {
    "leadsHandled",
    "leadsThisWeek",
    "conversionRate",
    "totalRevenue",
    "responseTimeHours",
    "satisfactionScore",
    "satisfactionCount",
    "teamRanking",
    "totalAgents",
    "excludedSales",
}
TREND_FIELDS = {"leads", "conversion", "revenue", "response", "satisfaction", "ranking"}


@pytest.mark.parametrize("query", ["", "?range=24h", "?range=7d", "?range=1y", "?range=45"])
@pytest.mark.parametrize("persona_key", ["agent_a", "manager_a"])
def test_kpi_payload_has_exactly_the_documented_keys(world, persona_key, query):
    persona = PERSONA[persona_key]
    subject = world.agent_a
    if persona_key == "manager_a":
        query = f"{query}{'&' if query else '?'}agent={subject.email}"
    body = client_for(world, persona, "api").get(f"/agent/analytics/kpis{query}").json()
    assert set(body) == KPI_KEYS
    assert set(body["kpis"]) == KPI_FIELDS
    assert set(body["trends"]) == TREND_FIELDS
    assert body["agentId"] == str(subject.pk)


AGENT_ROUTES = [route for route in GET_ROUTES if "agent" in POLICY[route.name].roles]


def json_values(value):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key, inner
            yield from json_values(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from json_values(inner)


def test_agent_routes_include_the_agent_page_and_every_analytics_endpoint():
    names = {route.name for route in AGENT_ROUTES}
    analytics = {route.name for route in GET_ROUTES if route.route.startswith("agent/analytics/")}
    assert len(analytics) == 5
    assert {"agent-page", "home", *analytics} <= names


@pytest.mark.parametrize("route", AGENT_ROUTES, ids=route_id)
def test_agent_sees_no_other_agent(world, route):
    """agent_a's pages and API answers never name Bea (build_history's second agent of A):
    not her e-mail, name, id or a link to her page, and no JSON value of hers (S7 5000.00,
    her only lead source "Events")."""
    bea = world.bea
    peer_strings = [
        bea.email,
        bea.name,
        f"/agents/{bea.pk}/",
        f'"agentId": "{bea.pk}"',
        f'"agentId":"{bea.pk}"',
    ]
    hits = []
    variants = ("-",)  # an agent cannot name anyone else (403, test_access_matrix)
    for _url, label, response, text in fetch_all(world, PERSONA["agent_a"], route, variants=variants):
        hits += [(label, s) for s in peer_strings if s.lower() in text.lower()]
        if response["Content-Type"].startswith("application/json"):
            for key, value in json_values(json.loads(response.content)):
                if key == "agentId" and value != str(world.agent_a.pk):
                    hits.append((label, f"agentId {value}"))
                if key in ("revenue", "amount", "totalRevenue") and value == 5000.0:
                    hits.append((label, f"{key} 5000.0"))
                if key == "source" and value == "Events":
                    hits.append((label, "source Events"))
    assert not hits, hits


def test_agent_asking_for_a_peer_learns_nothing(world):
    """?agent=bea as an agent: 403, and the refusal names nobody."""
    client = client_for(world, PERSONA["agent_a"], "api")
    for route in AGENT_ROUTES:
        # the API routes that read ?agent= (an export is the caller's own, found by its id)
        if route.kind != "api" or "agent" not in POLICY[route.name].query_objects:
            continue
        response = client.get(f"{route.url()}?agent={world.bea.email}")
        assert response.status_code == 403
        text = response.content.decode()
        assert world.bea.email not in text.replace(f"agent={world.bea.email}", "")
        assert world.bea.name not in text
