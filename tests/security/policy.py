"""The access policy of every route, as data (RELIABILITY.md G3, DESIGN.md section 8).

`discover_routes()` walks Django's URL resolver, so the matrix covers whatever is wired in
config/urls.py. Every route it finds must have a decision here: an entry of POLICY (who may
use it, with which methods), PUBLIC (sign-in and token pages, checked separately) or SKIPPED
(with the reason). A new route without a decision fails tests/security/test_access_matrix.py.

Roles: "agent", "manager", "admin" (members, crm.models.Role) and "integration" (an
organization API key, crm.auth.ApiKeyPrincipal).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

MEMBERS = frozenset({"agent", "manager", "admin"})
MANAGERS = frozenset({"manager", "admin"})
ADMINS = frozenset({"admin"})
INGESTERS = frozenset({"admin", "integration"})
# No caller identity at all: the HMAC signature over the body is the authentication.
SIGNED = frozenset({"signature"})

METHODS = ("GET", "POST", "PUT", "DELETE")


@dataclass(frozen=True)
class Rule:
    """Who may use a route. `methods` maps each accepted method to the status a permitted
    caller gets with `bodies[method]` (a JSON value for API routes, form fields for pages).
    `query_objects` are query parameters naming an object (`?agent=<e-mail>`): naming
    anyone but yourself needs `query_object_roles`."""

    roles: frozenset[str]
    methods: dict[str, int]
    bodies: dict[str, Any] = field(default_factory=dict)
    query_objects: tuple[str, ...] = ()
    query_object_roles: frozenset[str] = MANAGERS


_page = Rule(MEMBERS, {"GET": 200})
_manager_page = Rule(MANAGERS, {"GET": 200})
_agent_api = Rule(MEMBERS, {"GET": 200}, query_objects=("agent",))
_goal_form = {"period": "monthly", "conversions": "7"}
_schedule_body = {
    "name": "Daily",
    "sections": ["overview"],
    "range": "7d",
    "formats": ["csv"],
    "cadence": "daily",
    "time": "07:00",
    "recipients": ["someone@example.com"],
}
_schedule_form = {
    **_schedule_body,
    "sections": "overview",
    "formats": "csv",
    "recipients": "someone@example.com",
}

POLICY: dict[str, Rule] = {
    # --- CRM pages (crm/urls.py) ---------------------------------------------------------
    "home": _page,
    "crm-import": Rule(MANAGERS, {"GET": 200, "POST": 400}, bodies={"POST": {"entity": "leads"}}),
    "crm-import-columns": _manager_page,
    "crm-import-run": _manager_page,
    "crm-import-run-status": _manager_page,
    # --- agent pages (agents/urls.py): /agent/ is yourself, /agents/<id>/ is for managers -
    "agent-page": _page,
    "agent-revenue": _page,
    "agent-timeline": _page,
    "agent-goals": Rule(MEMBERS, {"GET": 200, "POST": 302}, bodies={"POST": _goal_form}),
    "agent-team": _manager_page,
    "agent-team-table": _manager_page,
    "agent-detail-page": _manager_page,
    "agent-detail-revenue": _manager_page,
    "agent-detail-timeline": _manager_page,
    "agent-detail-goals": Rule(MANAGERS, {"GET": 200, "POST": 302}, bodies={"POST": _goal_form}),
    # --- agent JSON API (agents/api_urls.py) ---------------------------------------------
    "agent-api-kpis": _agent_api,
    "agent-api-funnel": _agent_api,
    "agent-api-lead-sources": _agent_api,
    "agent-api-revenue-trends": _agent_api,
    "agent-api-activities": _agent_api,
    "agent-api-goals": Rule(
        MEMBERS,
        {"GET": 200, "POST": 201, "PUT": 200},
        bodies={
            # the world seeds a monthly revenue goal for every member (conftest.py)
            "POST": {"period": "monthly", "goals": {"conversions": "5"}},
            "PUT": {"period": "monthly", "goals": {"revenue": "2500"}},
        },
        query_objects=("agent",),
    ),
    # --- ingestion (crm/api_urls.py) -----------------------------------------------------
    "crm-api:ingest": Rule(INGESTERS, {"POST": 200}, bodies={"POST": []}),
    # unsigned deliveries: 401 for everyone (tests/crm/test_webhook.py covers signed ones)
    "crm-api:webhook-messages": Rule(SIGNED, {"POST": 401}, bodies={"POST": {"external_id": "m-1"}}),
    # --- manager analytics (insights/api_urls.py) --------------------------------------------
    "insights-api-overview": Rule(MANAGERS, {"POST": 200}, bodies={"POST": {"timeRange": "7d"}}),
    **{
        f"insights-api-tab-{tab}": _manager_page
        for tab in ("overview", "calls", "leads", "revenue", "campaigns")
    },
    # --- manager dashboard pages (insights/urls.py) ------------------------------------------
    "insights-dashboard": _manager_page,
    "insights-tab": _manager_page,
    "insights-records": _manager_page,
    "insights-export": _manager_page,
    "insights-goals": Rule(
        MANAGERS, {"POST": 302}, bodies={"POST": {"metric": "calls", "month": "this", "target": "5"}}
    ),
    "insights-save-view": Rule(MANAGERS, {"POST": 302}, bodies={"POST": {"name": "Mine", "tab": "calls"}}),
    "insights-delete-view": Rule(MANAGERS, {"POST": 302}),
    # --- business intelligence (insights/bi): agents see their own leads' part ---------------
    **{
        f"bi-api-{name}": _agent_api
        for name in ("dashboard", "insights", "missed-opportunities", "upsell-potential", "metrics")
    },
    "bi-api-insight-resolve": Rule(MEMBERS, {"POST": 200}, bodies={"POST": {"note": "Called them"}}),
    "bi-api-opportunity-status": Rule(MEMBERS, {"POST": 200}, bodies={"POST": {"status": "in_progress"}}),
    "bi-insights": _agent_api,
    "bi-insights-list": _agent_api,
    # without HTMX a write goes back to the page (302); HTMX gets the re-rendered partial
    "bi-insight-resolve": Rule(MEMBERS, {"POST": 302}, bodies={"POST": {"note": "Called them"}}),
    "bi-opportunity-status": Rule(MEMBERS, {"POST": 302}, bodies={"POST": {"status": "in_progress"}}),
    "bi-refresh": Rule(MANAGERS, {"POST": 302}),
    # --- pricing (pricing/urls.py, pricing/api_urls.py): managers read and request, admins
    # decide (four eyes and the states are tests/pricing's; here the role gate) -------------
    "pricing-page": _manager_page,
    "pricing-generate": Rule(MANAGERS, {"POST": 302}),
    # --- experiment pages (insights/experiments/urls.py): managers. The world's experiment of A
    # is a draft price test: start moves it, stop and decide are refused, and every action
    # answers with a redirect to its page (a refusal is a message there). A new experiment
    # posted without a campaign or product is the chooser again, a 400; a suggestion's test
    # goes to the new experiment (or back to /pricing with the reason) ----------------------
    "experiments-list": _manager_page,
    "experiments-new": Rule(MANAGERS, {"GET": 200, "POST": 400}, bodies={"POST": {}}),
    "experiments-from-suggestion": Rule(MANAGERS, {"POST": 302}),
    "experiments-detail": _manager_page,
    "experiments-results": _manager_page,
    "experiments-start": Rule(MANAGERS, {"POST": 302}),
    "experiments-stop": Rule(MANAGERS, {"POST": 302}),
    "experiments-decide": Rule(MANAGERS, {"POST": 302}),
    "pricing-api-generate": Rule(MANAGERS, {"POST": 200}, bodies={"POST": {}}),
    "pricing-api-list": _manager_page,
    "pricing-api-detail": _manager_page,
    # a suggestion named in the body: the role gate first, then 404 for one that is not there
    "pricing-api-decide": Rule(
        ADMINS,
        {"POST": 404},
        bodies={"POST": {"suggestionId": 999999, "decision": "reject", "notes": "access matrix"}},
    ),
    # the world's suggestion is proposed, not applied: a permitted caller gets the 409
    "pricing-api-rollback": Rule(ADMINS, {"POST": 409}, bodies={"POST": {"notes": "access matrix"}}),
    # --- reports (reports/urls.py, reports/api_urls.py): every member exports (an agent their
    # own numbers, and sees only their own exports: the world's export is agent_a's); managers
    # save, schedule and read the history. The world's files are gone: downloads answer 404
    # to a permitted caller (the 90-day expiry), like a missing export.
    "reports-builder": _page,
    "reports-preview": _page,
    "reports-save": Rule(MANAGERS, {"POST": 302}, bodies={"POST": {"name": "Mine", "sections": "overview"}}),
    "reports-export-create": Rule(
        MEMBERS, {"POST": 302}, bodies={"POST": {"sections": "overview", "format": "csv"}}
    ),
    "reports-export": _page,
    "reports-export-download": Rule(MEMBERS, {"GET": 404}),
    "reports-schedule-create": Rule(MANAGERS, {"POST": 302}, bodies={"POST": _schedule_form}),
    "reports-schedule-stop": Rule(MANAGERS, {"POST": 302}),
    "reports-delivery-download": Rule(MANAGERS, {"GET": 404}),
    "reports-api-exports": Rule(
        MEMBERS, {"POST": 202}, bodies={"POST": {"format": "csv", "sections": ["overview"], "range": "7d"}}
    ),
    "reports-api-export": _page,
    "reports-api-export-download": Rule(MEMBERS, {"GET": 404}),
    "reports-api-schedules": Rule(MANAGERS, {"GET": 200, "POST": 201}, bodies={"POST": _schedule_body}),
    "reports-api-schedule": Rule(MANAGERS, {"GET": 200, "DELETE": 200}),
    # --- live metrics (insights/live_api_urls.py): a socket ticket for any member ---------------
    "live-api-ticket": Rule(MEMBERS, {"POST": 201}),
    # --- experiments (insights/experiments/api_urls.py): managers run them; every member may
    # ask which price a contact sees. The world's experiment of A is a draft price test. ------
    # an empty body: the role gate first, then the 400 (a body naming a product would be A's
    # for A and a 404 for B's admin; tests/insights/experiments creates them)
    "experiments-api-list": Rule(MANAGERS, {"GET": 200, "POST": 400}, bodies={"POST": {}}),
    # a suggestion named in the body: the role gate first, then 404 for one that is not there
    "experiments-api-from-suggestion": Rule(
        MANAGERS, {"POST": 404}, bodies={"POST": {"suggestionId": 999999}}
    ),
    "experiments-api-detail": _manager_page,
    "experiments-api-results": _manager_page,
    "experiments-api-start": Rule(MANAGERS, {"POST": 200}),
    # a draft can be neither stopped nor decided: a permitted caller gets the 409
    "experiments-api-stop": Rule(MANAGERS, {"POST": 409}),
    "experiments-api-decide": Rule(MANAGERS, {"POST": 409}),
    # without ?contact= a permitted caller gets the 400 naming it (tests/insights/experiments
    # covers the answers with a contact)
    "experiments-api-assignment": Rule(MEMBERS, {"GET": 400}),
}

# Sign-in, sign-out, password and token endpoints: open to anyone, with their own tests in
# tests/crm/test_auth.py; here only "answers 200/302/4xx, never 5xx" (test_public_pages).
PUBLIC = frozenset(
    {"login", "logout", "password_change", "password_change_done", "token_obtain", "token_refresh"}
)

SKIPPED: dict[str, str] = {
    "admin/": "the Django admin: Django's own permission checks (is_staff), not our policy",
    "schema": "the OpenAPI document, public by design (G6 tests it with schemathesis)",
    "api-docs": "Swagger UI for the schema",
    "reports-unsubscribe": "a scheduled report's signed unsubscribe link, for anyone holding it; "
    "tests/reports/test_deliveries.py covers valid, forged and prefetched (GET) links",
}

# Path parameters and what they name.
PATH_PARAMS: dict[str, str] = {
    "run_id": "import_run",
    "agent_id": "agent",
    "view_id": "saved_view",
    "entity": "entity",
    "name": "tab_name",
    "kind": "record_kind",
    "tab": "export_tab",
    "table": "export_table",
    "insight_id": "insight",
    "opportunity_id": "opportunity",
    "suggestion_id": "pricing_suggestion",
    "export_id": "report_export",
    "schedule_id": "report_schedule",
    "delivery_id": "report_delivery",
    "experiment_id": "experiment",
}
# Path parameters naming no object of an organization (a kind of thing): one valid value and
# one that does not exist (tests/security/conftest.py NAMES).
NON_OBJECTS = frozenset({"entity", "tab_name", "record_kind", "export_tab", "export_table"})

_PARAM_RE = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or the route itself when it has no name
    route: str  # "api/v1/ingest/<str:entity>/"
    view: Callable[..., Any]

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(match["name"] for match in _PARAM_RE.finditer(self.route))

    @property
    def kind(self) -> str:
        """ "api" for DRF views (JSON, 401 for anonymous), "html" for pages (login redirect)."""
        view_class = getattr(self.view, "cls", None)
        return "api" if isinstance(view_class, type) and issubclass(view_class, APIView) else "html"

    def url(self, **values: object) -> str:
        return "/" + _PARAM_RE.sub(lambda match: str(values[match["name"]]), self.route)

    @property
    def decision(self) -> str:
        if self.name in POLICY:
            return "policy"
        if self.name in PUBLIC:
            return "public"
        if self.name in SKIPPED or any(self.route.startswith(prefix) for prefix in SKIPPED):
            return "skipped"
        return "missing"


def _walk(patterns: list, prefix: str, namespace: str) -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner or namespace)
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or route)
            yield Route(name=name, route=route, view=entry.callback)


def discover_routes() -> list[Route]:
    """Every route of config/urls.py, in resolver order."""
    return list(_walk(get_resolver().url_patterns, "", ""))


def policy_routes() -> list[Route]:
    return [route for route in discover_routes() if route.decision == "policy"]
