"""G3: every route x every persona x every object class x every method, generated from the
URL resolver and judged against the policy table of tests/security/policy.py.

Personas (tests/security/conftest.py): anonymous, agent, manager and admin of A, the admin of
B (the outsider) and an API key of B. Members sign in with a session on pages, and with a JWT
and with a session on the API. Object classes: import runs (`<run_id>`), agents (`<agent_id>`
and `?agent=<e-mail>`), each as an object of A, of B and a missing one (id 999999); an
`<entity>` is a valid or an unknown name. Methods: GET, POST, PUT, DELETE.

A cell's expected answer follows from the policy, in the order the application checks:

1. a method the route does not accept: 405 (pages check the method before anything else;
   API views authenticate first, so anonymous 401 and wrong role 403 come before the 405);
2. not signed in with a credential the view accepts: 401 JSON for the API, a 302 to the
   login page for pages (an API key is no login for pages, a session none for ingestion);
3. a role outside the route's roles, or naming another member without being a manager: 403;
4. an object of the other organization, or one that does not exist: 404, and the two answers
   are the same (status, content type and body, once the id is replaced);
5. otherwise the route's success status.

Every cell also asserts: never a 5xx, and every API error has the one JSON shape. Further
down: anonymous HTMX polls, the public sign-in and token pages, and CSRF on session writes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import pytest
from django.urls import reverse
from rest_framework.authentication import SessionAuthentication
from rest_framework_simplejwt.authentication import JWTAuthentication

from crm.auth import ApiKeyAuthentication
from tests.security.conftest import MEMBERS_OF_A, PERSONAS, Persona, World, client_for, send
from tests.security.policy import (
    METHODS,
    NON_OBJECTS,
    PATH_PARAMS,
    POLICY,
    PUBLIC,
    SIGNED,
    Route,
    Rule,
    discover_routes,
)

pytestmark = pytest.mark.django_db

OBJECT_VARIANTS = ("A", "B", "missing")  # an object of organization A, of B, none


@dataclass(frozen=True)
class Cell:
    route: Route
    method: str
    persona: Persona
    variant: str  # "A", "B", "missing", "self" (no ?agent=) or "-" (no object)
    via: str  # how the persona authenticates: session, jwt, key (API key) or none

    @property
    def id(self) -> str:
        who = (
            self.persona.key
            if self.via in ("none", "key") or self.route.kind == "html"
            else f"{self.persona.key}-{self.via}"
        )
        return f"{self.route.name}|{self.method}|{who}|{self.variant}"

    def client(self, world: World):
        return client_for(world, self.persona, self.route.kind, via=self.via)

    def url(self, world: World, variant: str | None = None) -> str:
        variant = variant or self.variant
        values = {}
        for param in self.route.params:
            kind = PATH_PARAMS[param]
            values[param] = world.object_value(kind, variant if variant in OBJECT_VARIANTS else "valid")
        url = self.route.url(**values)
        rule = POLICY[self.route.name]
        if rule.query_objects and variant in OBJECT_VARIANTS:
            email = world.object_value("agent_email", variant)
            url += "?" + "&".join(f"{name}={quote(str(email))}" for name in rule.query_objects)
        return url


def variants_of(route: Route, rule: Rule) -> tuple[str, ...]:
    kinds = {PATH_PARAMS.get(param, "?") for param in route.params}
    if kinds - NON_OBJECTS:
        return OBJECT_VARIANTS
    if rule.query_objects:
        return ("self", *OBJECT_VARIANTS)
    if kinds and kinds <= NON_OBJECTS:
        return ("-", "missing")
    return ("-",)


AUTH_SCHEMES = {JWTAuthentication: "jwt", SessionAuthentication: "session", ApiKeyAuthentication: "key"}


def accepted_schemes(route: Route) -> set[str]:
    """How an API view lets callers in, from its authentication classes."""
    view_class = route.view.cls
    return {
        scheme
        for auth, scheme in AUTH_SCHEMES.items()
        for cls in view_class.authentication_classes
        if issubclass(cls, auth)
    }


def vias(route: Route, persona: Persona) -> tuple[str, ...]:
    if persona.role is None:
        return ("none",)
    if persona.role == "integration":
        return ("key",)
    return ("jwt", "session") if route.kind == "api" else ("session",)


def generate_cells():
    for route in discover_routes():
        decision = route.decision
        if decision in ("public", "skipped"):
            continue
        if decision == "missing" or any(param not in PATH_PARAMS for param in route.params):
            # fails in test_access_cell: a route (or a path parameter) nobody decided about
            yield pytest.param(route, None, id=f"{route.name}|NO-POLICY")
            continue
        rule = POLICY[route.name]
        variants = variants_of(route, rule)
        # Methods the route refuses are one test per route (test_refused_methods).
        for method in (m for m in METHODS if m in rule.methods):
            for variant in variants:
                for persona in PERSONAS:
                    for via in vias(route, persona):
                        cell = Cell(route, method, persona, variant, via)
                        yield pytest.param(route, cell, id=cell.id)


CELLS = list(generate_cells())


@dataclass(frozen=True)
class Expect:
    status: int
    outcome: str  # ok, login, unauthenticated, forbidden, not_found, method, signature


def expect(cell: Cell) -> Expect:
    rule = POLICY[cell.route.name]
    api = cell.route.kind == "api"
    persona, method, variant = cell.persona, cell.method, cell.variant
    if rule.roles == SIGNED:
        return Expect(401, "signature") if method in rule.methods else Expect(405, "method")
    if method not in rule.methods and not api:
        return Expect(405, "method")
    signed_in = cell.via in accepted_schemes(cell.route) if api else cell.via == "session"
    if not signed_in:
        return Expect(401, "unauthenticated") if api else Expect(302, "login")
    if persona.role not in rule.roles:
        return Expect(403, "forbidden")
    if method not in rule.methods:
        return Expect(405, "method")
    if rule.query_objects and variant in OBJECT_VARIANTS and persona.role not in rule.query_object_roles:
        return Expect(403, "forbidden")  # "Can only access own data", whoever is named
    if variant == "missing" or (variant in ("A", "B") and variant != persona.org):
        return Expect(404, "not_found")
    return Expect(rule.methods[method], "ok")


def assert_error_shape(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str)
    assert isinstance(body["error"]["message"], str)
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


def normalized(response, *values: object) -> tuple[int, str, object]:
    """Status, content type and body with the object ids/e-mails of the request blanked."""
    text = response.content.decode()
    for value in values:
        for form in {str(value), quote(str(value))}:
            text = re.sub(rf"(?<![\w.@%-]){re.escape(form)}(?![\w.@%-])", "<OBJECT>", text)
    body: object = text
    if response["Content-Type"].startswith("application/json"):
        body = json.loads(text)
    return response.status_code, response["Content-Type"], body


def object_values(cell: Cell, world: World, variant: str) -> list[object]:
    values = [world.object_value(PATH_PARAMS[param], variant) for param in cell.route.params]
    if POLICY[cell.route.name].query_objects:
        values.append(world.object_value("agent_email", variant))
    return values


@pytest.mark.parametrize(("route", "cell"), CELLS)
def test_access_cell(world, route, cell):
    if cell is None:
        pytest.fail(
            f"route {route.name!r} ({route.route}) has no decision: add it to POLICY, PUBLIC or "
            f"SKIPPED in tests/security/policy.py (and any new path parameter to PATH_PARAMS)"
        )
    rule = POLICY[route.name]
    wanted = expect(cell)
    url = cell.url(world)
    client = cell.client(world)
    response = send(client, cell.method, url, kind=route.kind, body=rule.bodies.get(cell.method))

    assert response.status_code < 500, response.content[:2000]
    assert response.status_code == wanted.status, (
        f"{cell.method} {url} as {cell.persona.key}: expected {wanted.status} ({wanted.outcome}), "
        f"got {response.status_code}: {response.content[:500]!r}"
    )
    if route.kind == "api" and response.status_code >= 400:
        error = assert_error_shape(response)
        if wanted.outcome == "unauthenticated":
            assert error["code"] == "not_authenticated"
        if wanted.outcome == "signature":
            assert error["code"] == "invalid_signature"
    if wanted.outcome == "login":
        location = response["Location"]
        assert location == f"{reverse('login')}?next={quote(url, safe='/')}", location
    if wanted.outcome == "ok" and response.status_code == 302:
        assert not urlsplit(response["Location"]).path.startswith(reverse("login"))
    if wanted.outcome == "ok" and route.kind == "api":
        assert response["Content-Type"].startswith("application/json")
    if wanted.outcome == "not_found" and cell.variant in ("A", "B"):
        # existence is not revealed: the other organization's object answers like no object
        missing = send(
            cell.client(world),
            cell.method,
            cell.url(world, "missing"),
            kind=route.kind,
            body=rule.bodies.get(cell.method),
        )
        assert normalized(response, *object_values(cell, world, cell.variant)) == normalized(
            missing, *object_values(cell, world, "missing")
        )


REFUSING_ROUTES = [
    route
    for route in discover_routes()
    if route.decision == "policy"
    and all(param in PATH_PARAMS for param in route.params)
    and set(METHODS) - set(POLICY[route.name].methods)
]


@pytest.mark.parametrize("route", REFUSING_ROUTES, ids=lambda route: route.name)
def test_refused_methods(world, route):
    """Every method a route does not accept, sent by every persona (each credential it could
    use), answers as `expect` says: 405 once the caller is let in, and never reveals more."""
    rule = POLICY[route.name]
    answered, wanted = {}, {}
    for method in sorted(set(METHODS) - set(rule.methods)):
        for persona in PERSONAS:
            for via in vias(route, persona):
                cell = Cell(route, method, persona, variants_of(route, rule)[0], via)
                response = send(cell.client(world), method, cell.url(world), kind=route.kind)
                shape_ok = route.kind != "api" or (
                    response["Content-Type"].startswith("application/json")
                    and set(response.json()) == {"error"}
                )
                answered[cell.id] = (response.status_code, shape_ok)
                wanted[cell.id] = (expect(cell).status, True)
    assert answered == wanted


def test_every_route_has_a_decision():
    routes = discover_routes()
    undecided = [f"{route.name} ({route.route})" for route in routes if route.decision == "missing"]
    assert not undecided, f"routes without an access decision in tests/security/policy.py: {undecided}"
    names = {route.name for route in routes}
    stale = sorted((set(POLICY) | PUBLIC) - names)
    assert not stale, f"policy entries for routes that no longer exist: {stale}"
    unknown = sorted(
        {p for route in routes if route.decision == "policy" for p in route.params} - set(PATH_PARAMS)
    )
    assert not unknown, f"path parameters without an object class in PATH_PARAMS: {unknown}"


def test_matrix_covers_every_persona_role_and_object_class():
    """Guards the generator itself: the matrix is as big as the policy says."""
    cells = [param.values[1] for param in CELLS if param.values[1] is not None]
    assert {cell.persona.key for cell in cells} == {persona.key for persona in PERSONAS}
    assert {cell.via for cell in cells} == {"none", "session", "jwt", "key"}
    assert {cell.route.name for cell in cells} == set(POLICY)
    assert {route.name for route in REFUSING_ROUTES} == {
        name for name, rule in POLICY.items() if set(METHODS) - set(rule.methods)
    }
    for name, rule in POLICY.items():
        for method in rule.methods:
            assert any(c.route.name == name and c.method == method for c in cells), (name, method)
    object_routes = {c.route.name for c in cells if c.variant == "B"}
    assert {
        "crm-import-run",
        "agent-detail-page",
        "agent-api-kpis",
        "bi-api-insight-resolve",
        "bi-api-opportunity-status",
        "bi-insight-resolve",
        "bi-opportunity-status",
    } <= object_routes


# --- pages for anonymous HTMX polls -------------------------------------------------------------

HTML_GET_ROUTES = [
    route
    for route in discover_routes()
    if route.decision == "policy" and route.kind == "html" and "GET" in POLICY[route.name].methods
]


@pytest.mark.parametrize("route", HTML_GET_ROUTES, ids=lambda route: route.name)
def test_anonymous_htmx_request_is_sent_to_login_without_data(world, route):
    values = {
        param: world.object_value(
            PATH_PARAMS[param], "A" if PATH_PARAMS[param] not in NON_OBJECTS else "valid"
        )
        for param in route.params
    }
    url = route.url(**values)
    response = client_for(world, PERSONAS[0], "html").get(
        url, headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{url}"}
    )
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(f"{reverse('login')}?next=")
    assert response.content == b""


# --- public pages: sign-in, sign-out, password and tokens -----------------------------------------

SIGNED_IN, ANONYMOUS = "signed_in", "anonymous"
PUBLIC_CASES = [
    # (route name, method, body, expected status for anonymous, for a signed-in member)
    ("login", "GET", None, 200, 302),
    ("login", "POST", {"username": "nobody@acme.test", "password": "wrong"}, 200, 302),
    ("logout", "GET", None, 405, 405),
    ("logout", "POST", None, 302, 302),
    ("password_change", "GET", None, 302, 200),
    ("password_change_done", "GET", None, 302, 200),
    ("token_obtain", "GET", None, 405, 405),
    ("token_obtain", "POST", {"email": "nobody@acme.test", "password": "wrong"}, 401, 401),
    ("token_obtain", "POST", {}, 400, 400),
    ("token_refresh", "GET", None, 405, 405),
    ("token_refresh", "POST", {"refresh": "not-a-token"}, 401, 401),
    ("token_refresh", "POST", {}, 400, 400),
]
PUBLIC_ROUTES = {route.name: route for route in discover_routes() if route.decision == "public"}


def test_public_cases_cover_every_public_route():
    assert {case[0] for case in PUBLIC_CASES} == set(PUBLIC_ROUTES) == set(PUBLIC)


@pytest.mark.parametrize("persona", [PERSONAS[0], *MEMBERS_OF_A, PERSONAS[-1]], ids=lambda p: p.key)
@pytest.mark.parametrize(
    ("name", "method", "body", "anonymous", "signed_in"),
    PUBLIC_CASES,
    ids=[f"{case[0]}|{case[1]}|{i}" for i, case in enumerate(PUBLIC_CASES)],
)
def test_public_pages(world, persona, name, method, body, anonymous, signed_in):
    route = PUBLIC_ROUTES[name]
    # pages: a session for members; the token endpoints ignore any credentials
    client = client_for(world, persona, route.kind if route.kind == "html" else "api")
    response = send(client, method, route.url(), kind=route.kind, body=body)
    assert response.status_code < 500
    is_member_session = persona.is_member and route.kind == "html"
    wanted = signed_in if is_member_session else anonymous
    assert response.status_code == wanted, response.content[:500]
    if route.kind == "api" and response.status_code >= 400:
        assert_error_shape(response)
    if response.status_code == 302 and name.startswith("password"):
        assert response["Location"].startswith(f"{reverse('login')}?next=")


# --- CSRF: a signed-in browser's writes need the token ---------------------------------------------

WRITES = [
    (route, method)
    for route in discover_routes()
    if route.decision == "policy"
    for method in POLICY[route.name].methods
    if method != "GET"
]


@pytest.mark.parametrize(("route", "method"), WRITES, ids=[f"{r.name}|{m}" for r, m in WRITES])
def test_session_writes_need_a_csrf_token(world, route, method):
    """With a session cookie and no CSRF token every write is refused: 403 (pages, and API
    views that accept sessions), 401 where sessions are no credential at all. With the token
    the same write succeeds, so the 403 is the CSRF check and nothing else."""
    rule = POLICY[route.name]
    persona = next((p for p in MEMBERS_OF_A if p.role in rule.roles), PERSONAS[0])
    values = {
        param: world.object_value(
            PATH_PARAMS[param], "A" if PATH_PARAMS[param] not in NON_OBJECTS else "valid"
        )
        for param in route.params
    }
    url = route.url(**values)
    client = client_for(world, persona, route.kind, via="session", csrf=True)
    body = rule.bodies.get(method)
    response = send(client, method, url, kind=route.kind, body=body)
    if rule.roles == SIGNED:
        wanted = 401
    elif route.kind == "html" or "session" in accepted_schemes(route):
        wanted = 403
    else:
        wanted = 401
    assert response.status_code == wanted, response.content[:500]
    if route.kind == "api":
        assert_error_shape(response)
    if wanted != 403:
        return
    client.get(reverse("agent-page"))  # a page with a form: sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    response = send(client, method, url, kind=route.kind, body=body, headers={"X-CSRFToken": token})
    assert response.status_code == rule.methods[method], response.content[:500]
