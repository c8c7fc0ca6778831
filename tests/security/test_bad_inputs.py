"""G7 for the doors that exist now: query parameters of the JSON API and of the pages, and
the bodies of the JSON POST/PUT operations. Bad input gets a JSON 4xx in the one error shape
(naming the field where there is one), never a 5xx, and writes nothing.

The JSON operations and their query parameters come from the OpenAPI schema
(drf-spectacular), so a new parameter or operation is probed without editing this file.
"""

from __future__ import annotations

import base64
import functools
import json
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db.models import Count, Sum
from drf_spectacular.generators import SchemaGenerator

from agents.models import AgentGoal
from crm.ingestion.webhooks import ORGANIZATION_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from crm.models import Activity, AuditLog, ChatMessage, Contact, Lead, Sale, WebhookReceipt
from insights.bi.models import BusinessInsight, Opportunity, OpportunityStatusChange
from pricing.models import PricingSuggestion
from reports.models import Export, Schedule
from tests.agents.factories import AS_OF
from tests.security.conftest import PERSONA, VALID_ENTITY, World, client_for
from tests.security.policy import PATH_PARAMS, POLICY, policy_routes
from tests.security.test_access_matrix import assert_error_shape

pytestmark = pytest.mark.django_db


@functools.cache
def schema_operations() -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, url, documented query parameters) of every operation of the OpenAPI schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, items in schema["paths"].items():
        url = path.replace("{entity}", VALID_ENTITY)
        for method, operation in items.items():
            params = tuple(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")
            operations.append((method.upper(), url, params))
    return sorted(operations)


JSON_GETS = [(url, params) for method, url, params in schema_operations() if method == "GET"]
JSON_WRITES = [(method, url) for method, url, _params in schema_operations() if method in ("POST", "PUT")]
JSON_BODY_ROUTES = {
    # who calls each writing operation (the webhook is anonymous and signed, see write())
    "/agent/goals": "agent_a",
    "/api/v1/ingest/leads/": "admin_a",
    "/api/auth/token/": "anonymous",
    "/api/auth/token/refresh/": "anonymous",
    "/api/v1/webhooks/messages/": "anonymous",
    "/api/analytics/overview": "manager_a",
    "/api/bi/insights/{insight_id}/resolve": "manager_a",
    "/api/bi/opportunities/{opportunity_id}/update-status": "manager_a",
    "/api/v1/bi/pricing-optimization": "manager_a",
    "/api/v1/bi/approve-pricing": "admin_a",
    "/api/v1/bi/pricing-suggestions/{suggestion_id}/rollback": "admin_a",
    "/api/v1/reports/exports": "manager_a",
    "/api/v1/reports/schedules": "manager_a",
    "/api/v1/bi/ws-ticket": "agent_a",
    "/api/v1/bi/experiments": "manager_a",
    "/api/v1/bi/experiments/from-suggestion": "manager_a",
    "/api/v1/bi/experiments/{experiment_id}/start": "manager_a",
    "/api/v1/bi/experiments/{experiment_id}/stop": "manager_a",
    "/api/v1/bi/experiments/{experiment_id}/decide": "manager_a",
}
# Path parameters of the writing operations: the object of A the caller may change.
PATH_OBJECTS = {
    "{insight_id}": "insight",
    "{opportunity_id}": "opportunity",
    "{suggestion_id}": "pricing_suggestion",
    "{experiment_id}": "experiment",
}
# A new writing operation is probed once it is listed above (test_json_write_routes_are_known).
PROBED_WRITES = [(method, url) for method, url in JSON_WRITES if url in JSON_BODY_ROUTES]


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


JUNK_CURSOR = "A" * 10 * 1024
MANAGER_ANALYTICS = "/api/analytics/"
# Manager-only too (pricing): agents are refused before any parameter is read.
MANAGER_BI = "/api/v1/bi/"
BI_API = "/api/bi/"
# Any member may ask an experiment which price a contact (or lead) sees: the one GET under
# /api/v1/bi/ agents may use, and its parameters name objects.
EXPERIMENT_ASSIGNMENT = "/api/v1/bi/experiments/{experiment_id}/assignment"
# Values a client may send for each parameter; each must be a 400 naming the parameter.
ABSURD: dict[str, list[str]] = {
    "range": [
        "99999999999",
        "-1",
        "0",
        "3661",
        "1e20",
        "9" * 400,
        "9" * 5000,
        "<script>alert(1)</script>",
        "7d'--",
        "²",
    ],
    "period": ["<script>alert(1)</script>", "yearly", "x" * 10_000],
    "filter": ["<script>alert(1)</script>", "x" * 10_000],
    "limit": [str(10**12), "-1", "0", "1.5", "9" * 5000, "²", "0x10"],
    "cursor": [JUNK_CURSOR, "%%%", _cursor("not|a|cursor"), _cursor("2026-11-01T00:00:00|a|1")],
}
# Well-formed cursors pointing somewhere absurd: an empty page or a 400 is fine, a 500 is not.
CRAFTED_CURSORS = {
    "huge-id": _cursor("2026-11-01T00:00:00+00:00|a|99999999999999999999999999"),
    "negative-id": _cursor("2026-11-01T00:00:00+00:00|a|-5"),
    "year-1-east": _cursor("0001-01-01T00:00:00+14:00|a|1"),
    "year-9999-west": _cursor("9999-12-31T23:59:59-14:00|g|1"),
}
# Parameters naming an object: any JSON 4xx (the agent 403 for another agent, 404 unknown).
OBJECT_PARAM_VALUES = ["x" * 10_000, "<script>@x.test", "a'--@acme.test", "%"]


def get_params():
    for url, params in JSON_GETS:
        for param in params:
            for index, value in enumerate(ABSURD.get(param, OBJECT_PARAM_VALUES)):
                label = value if len(value) <= 20 else f"{value[:8]}...x{len(value)}"
                yield pytest.param(url, param, value, id=f"{url}|{param}={label}|{index}")


def error_of(response) -> dict:
    assert response.status_code < 500, response.content[:2000]
    return assert_error_shape(response)


# --- JSON GET: a NUL anywhere in the query ------------------------------------------------------


@pytest.mark.parametrize(("url", "params"), JSON_GETS, ids=[url for url, _ in JSON_GETS])
def test_nul_in_a_query_parameter_is_a_json_400(world, url, params):
    client = client_for(world, PERSONA["manager_a"], "api")
    for param in (*params, "undocumented"):
        for raw in ("%00", "7d%00", "%00" * 100):
            response = client.get(f"{url}?{param}={raw}")
            assert response.status_code == 400, (param, raw, response.content[:500])
            error = error_of(response)
            assert "NUL" in error["message"]
    # and in a parameter's name
    assert client.get(f"{url}?ra%00nge=7d").status_code == 400


# --- JSON GET: absurd values --------------------------------------------------------------------


@pytest.mark.parametrize(("url", "param", "value"), list(get_params()))
def test_absurd_query_value_is_a_json_400_naming_the_field(world, url, param, value):
    if url.startswith(MANAGER_ANALYTICS):
        # Managers only; every parameter is a value to validate (filters name values the
        # organization uses, not objects), so each absurd value is a 400 naming it.
        client = client_for(world, PERSONA["manager_a"], "api")
        custom = {"range": "custom", "start": "2026-11-01", "end": "2026-11-07"}
        params = {**(custom if param in ("start", "end") else {}), param: value}
        response = client.get(f"{url}?{urlencode(params)}")
        assert response.status_code == 400, response.content[:500]
        assert param in error_of(response)["details"], response.content[:500]
        return
    if url == EXPERIMENT_ASSIGNMENT:
        url = url.replace("{experiment_id}", str(world.experiment_a.pk))
        for persona in ("agent_a", "manager_a"):
            response = client_for(world, PERSONA[persona], "api").get(f"{url}?{urlencode({param: value})}")
            error = error_of(response)
            # longer than an external id: a 400 naming it; otherwise no such record: a 404
            assert response.status_code == (400 if len(value) > 100 else 404), response.content[:500]
            assert param in error["details"], error
        return
    if url.startswith(MANAGER_BI):
        assert client_for(world, PERSONA["agent_a"], "api").get(url).status_code == 403
        response = client_for(world, PERSONA["manager_a"], "api").get(f"{url}?{urlencode({param: value})}")
        if param == "product" and len(value) <= 100:
            # a product's external id is a filter: an unknown one matches nothing
            assert response.status_code == 200, response.content[:500]
            assert response.json()["results"] == []
            return
        assert response.status_code == 400, response.content[:500]
        assert param in error_of(response)["details"], response.content[:500]
        return
    for persona in ("agent_a", "manager_a"):
        client = client_for(world, PERSONA[persona], "api")
        response = client.get(f"{url}?{urlencode({param: value})}")
        error = error_of(response)
        if param in ABSURD or (url.startswith(BI_API) and param != "agent"):
            # /api/bi/: every parameter but ?agent= is a value to validate (a lead id is a
            # filter: another organization's lead simply matches nothing)
            assert response.status_code == 400, (persona, response.content[:500])
            assert param in error["details"], error
        else:  # an object parameter: refused or not found, never a 200 about someone else
            expected = {"agent_a": 403, "manager_a": 404}[persona]
            assert response.status_code == expected, (persona, response.content[:500])


CURSOR_DOORS = ("api", "/agent/", "/agent/timeline/", "/agents/<id>/timeline/")


def crafted_cursor_cases():
    for name in CRAFTED_CURSORS:
        for door in CURSOR_DOORS:
            yield pytest.param(name, door, id=f"{name}|{door}")


@pytest.mark.parametrize(("name", "door"), list(crafted_cursor_cases()))
def test_crafted_cursor_is_never_a_server_error(world, name, door):
    """A well-formed cursor pointing somewhere absurd: an empty page or a 400, never a 500,
    through the API and through the pages that take a cursor (DashboardQuery)."""
    query = urlencode({"cursor": CRAFTED_CURSORS[name]})
    if door == "api":
        response = client_for(world, PERSONA["agent_a"], "api").get(f"/agent/analytics/activities?{query}")
        assert response.status_code < 500, response.content[:1000]
        if response.status_code >= 400:
            assert response.status_code == 400
            assert "cursor" in error_of(response)["details"]
        return
    persona = "manager_a" if door.startswith("/agents/") else "agent_a"
    url = door.replace("<id>", str(world.agent_a.pk))
    client = client_for(world, PERSONA[persona], "html")
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get(f"{url}?{query}", headers=headers)
        assert response.status_code < 500, (headers, response.content[:1000])


# --- JSON POST/PUT: malformed bodies, wrong content types, too large -----------------------------

MALFORMED = {
    "truncated": b'{"period": ',
    "trailing": b'{"a": 1}}',
    "single-quotes": b"{'period': 'monthly'}",
    "bare-word": b"nul",
    "not-utf8": b'{"name": "\xff\xfe"}',
    "nan": b'{"period": NaN}',
    # within the webhook's 64 KB, far beyond Python's recursion limit
    "deeply-nested": b"[" * 20_000 + b"]" * 20_000,
}
WRONG_CONTENT_TYPES = ["text/plain", "application/x-www-form-urlencoded", "application/xml", "text/csv"]


def signed_headers(world: World, body: bytes) -> dict[str, str]:
    timestamp = int(AS_OF.timestamp())
    return {
        ORGANIZATION_HEADER: world.org_b.slug,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(world.org_b.webhook_secret, timestamp, body),
    }


def write(world: World, method: str, url: str, body: bytes, content_type: str = "application/json"):
    persona = PERSONA[JSON_BODY_ROUTES[url]]
    client = client_for(world, persona, "api")
    for placeholder, kind in PATH_OBJECTS.items():
        url = url.replace(placeholder, str(world.object_value(kind, "A")))
    headers = signed_headers(world, body) if "webhooks" in url else {}
    call = client.post if method == "POST" else client.put
    return call(url, data=body, content_type=content_type, headers=headers)


def fingerprint() -> dict[str, object]:
    """Row counts of every table a bad write could touch, and the goal targets' sum."""
    counts: dict[str, object] = {
        model.__name__: model.objects.count()
        for model in (Contact, Lead, Activity, Sale, ChatMessage, WebhookReceipt)
    }
    counts["goals"] = AgentGoal.objects.aggregate(n=Count("pk"), total=Sum("target"))
    counts["insights"] = BusinessInsight.objects.aggregate(n=Count("pk"), resolved=Count("resolved_at"))
    counts["opportunities"] = sorted(Opportunity.objects.values_list("pk", "status"))
    counts["status_changes"] = OpportunityStatusChange.objects.count()
    counts["audit"] = AuditLog.objects.count()
    counts["pricing"] = sorted(PricingSuggestion.objects.values_list("pk", "status"))
    counts["reports"] = (Export.objects.count(), Schedule.objects.count())
    return counts


def test_json_write_routes_are_known():
    unknown = sorted({url for _method, url in JSON_WRITES} - set(JSON_BODY_ROUTES))
    assert not unknown, f"writing operations of the schema without a caller in JSON_BODY_ROUTES: {unknown}"
    assert {url for _method, url in JSON_WRITES} == set(JSON_BODY_ROUTES)
    api_writes = {
        route.name
        for route in policy_routes()
        if route.kind == "api" and set(POLICY[route.name].methods) & {"POST", "PUT"}
    }
    assert api_writes == {
        "agent-api-goals",
        "crm-api:ingest",
        "crm-api:webhook-messages",
        "insights-api-overview",
        "bi-api-insight-resolve",
        "bi-api-opportunity-status",
        "pricing-api-generate",
        "pricing-api-decide",
        "pricing-api-rollback",
        "reports-api-exports",
        "reports-api-schedules",
        "live-api-ticket",
        "experiments-api-list",
        "experiments-api-from-suggestion",
        "experiments-api-start",
        "experiments-api-stop",
        "experiments-api-decide",
    }


def write_cases(kinds):
    for method, url in PROBED_WRITES:
        for kind in kinds:
            yield pytest.param(method, url, kind, id=f"{method} {url}|{kind}")


@pytest.mark.parametrize(("method", "url", "kind"), list(write_cases(MALFORMED)))
def test_malformed_json_body_is_a_json_400(world, method, url, kind):
    before = fingerprint()
    response = write(world, method, url, MALFORMED[kind])
    assert response.status_code == 400, response.content[:1000]
    error_of(response)
    assert fingerprint() == before


@pytest.mark.parametrize(
    ("method", "url", "content_type"),
    [
        pytest.param(method, url, ct, id=f"{method} {url}|{ct}")
        for method, url in PROBED_WRITES
        for ct in WRONG_CONTENT_TYPES
    ],
)
def test_wrong_content_type_is_a_json_415(world, method, url, content_type):
    before = fingerprint()
    body = (
        b'{"period": "monthly", "goals": {"revenue": "1"}}'
        if content_type != "application/x-www-form-urlencoded"
        else b"period=monthly"
    )
    response = write(world, method, url, body, content_type=content_type)
    assert response.status_code == 415, response.content[:1000]
    error_of(response)
    assert fingerprint() == before


@pytest.mark.parametrize(("method", "url"), PROBED_WRITES, ids=[f"{m} {u}" for m, u in PROBED_WRITES])
def test_body_over_the_upload_limit_is_a_json_413(world, method, url):
    before = fingerprint()
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = b'{"pad": "' + b"x" * limit + b'"}'
    response = write(world, method, url, body)
    assert response.status_code == 413, response.content[:1000]
    error_of(response)
    assert fingerprint() == before


# --- NUL and impossible values inside JSON bodies --------------------------------------------------

NUL_BODIES = {
    "/api/bi/insights/{insight_id}/resolve": [{"note": "called\u0000"}, {"note": "\u0000" * 10}],
    "/api/bi/opportunities/{opportunity_id}/update-status": [
        {"status": "in_progress\u0000"},
        {"status": "in_progress", "note": "a\u0000b"},
    ],
    "/api/analytics/overview": [
        {"timeRange": "7d\u0000"},
        {"filters": {"region": "\u0000"}},
        {"metrics": ["calls\u0000"]},
    ],
    "/agent/goals": [
        {"period": "monthly\u0000", "goals": {"revenue": "1"}},
        {"period": "monthly", "goals": {"revenue\u0000": "1"}},
        {"period": "monthly", "goals": {"revenue": "1\u0000"}},
    ],
    "/api/v1/ingest/leads/": [
        [{"external_id": "nul-1", "name": "a\u0000b", "created_at": "2026-11-01T00:00:00Z"}],
        [{"external_id": "nul\u00002", "name": "ok", "created_at": "2026-11-01T00:00:00Z"}],
        [{"external_id": "nul-3", "name": "ok", "source": "\u0000", "created_at": "2026-11-01T00:00:00Z"}],
    ],
    "/api/v1/bi/pricing-optimization": [{"productIds": ["P-acme\u0000"]}, {"productIds": ["\u0000" * 10]}],
    "/api/v1/bi/approve-pricing": [
        {"suggestionId": 1, "decision": "approve\u0000", "notes": "ok"},
        {"suggestionId": 1, "decision": "reject", "notes": "n\u0000o"},
    ],
    "/api/v1/bi/pricing-suggestions/{suggestion_id}/rollback": [{"notes": "\u0000"}],
    "/api/v1/reports/exports": [
        {"format": "csv\u0000", "sections": ["overview"]},
        {"format": "csv", "sections": ["overview"], "filters": {"region": "\u0000"}},
    ],
    # the ticket's only (optional) field
    "/api/v1/bi/ws-ticket": [{"clientId": "a\u0000b"}],
    "/api/v1/bi/experiments": [
        {
            "name": "n\u0000",
            "kind": "pricing",
            "productId": "P-acme",
            "variants": [
                {"key": "a", "weight": 0.5, "price": "1.00"},
                {"key": "b", "weight": 0.5, "price": "2.00"},
            ],
            "metric": "conversion_rate",
            "baselineRate": 0.3,
            "minimumDetectableEffect": 0.1,
        },
        {
            "name": "n",
            "kind": "pricing",
            "productId": "P-acme\u0000",
            "variants": [
                {"key": "a", "weight": 0.5, "price": "1.00"},
                {"key": "b", "weight": 0.5, "price": "2.00"},
            ],
            "metric": "conversion_rate",
            "baselineRate": 0.3,
            "minimumDetectableEffect": 0.1,
        },
    ],
    "/api/v1/bi/experiments/from-suggestion": [{"suggestionId": 1, "name": "\u0000"}],
    "/api/v1/bi/experiments/{experiment_id}/start": [{"note": "\u0000"}],
    "/api/v1/bi/experiments/{experiment_id}/stop": [{"note": "a\u0000b"}],
    "/api/v1/bi/experiments/{experiment_id}/decide": [{"note": "\u0000" * 10}],
    "/api/v1/reports/schedules": [
        {
            "name": "n\u0000",
            "sections": ["overview"],
            "formats": ["csv"],
            "cadence": "daily",
            "time": "07:00",
            "recipients": ["a@b.test"],
        }
    ],
    "/api/auth/token/": [{"email": "admin@acme.test\u0000", "password": "pass-word-123"}],
    "/api/auth/token/refresh/": [{"refresh": "\u0000"}],
    "/api/v1/webhooks/messages/": [
        {
            "external_id": "nul-m-1",
            "conversation_id": "c\u00001",
            "body": "hi",
            "sent_at": "2026-11-20T10:00:00Z",
        },
        {
            "external_id": "nul-m-2",
            "conversation_id": "c-1",
            "body": "h\u0000i",
            "sent_at": "2026-11-20T10:00:00Z",
        },
    ],
}
IMPOSSIBLE_DATES = ["2026-02-30T00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00", "1e20", "-1"]


def nul_cases():
    for method, url in PROBED_WRITES:
        for index, body in enumerate(NUL_BODIES[url]):
            yield pytest.param(method, url, body, id=f"{method} {url}|{index}")


@pytest.mark.parametrize(("method", "url", "body"), list(nul_cases()))
def test_nul_in_a_json_string_is_refused_and_stores_nothing(world, method, url, body):
    before = fingerprint()
    response = write(world, method, url, json.dumps(body).encode())
    assert response.status_code < 500, response.content[:1000]
    # 400, or for a batch the per-record report: 422 when every record is rejected
    assert response.status_code in (400, 422), response.content[:1000]
    error = error_of(response)
    assert error["details"], error
    assert fingerprint() == before


@pytest.mark.parametrize("value", IMPOSSIBLE_DATES)
def test_impossible_date_in_an_ingested_record_is_rejected_with_its_column(world, value):
    before = fingerprint()
    record = {"external_id": "date-1", "name": "dated", "created_at": value}
    response = write(world, "POST", "/api/v1/ingest/leads/", json.dumps([record]).encode())
    assert response.status_code == 422, response.content[:1000]
    report = error_of(response)["details"]
    assert [(e["index"], e["column"]) for e in report["errors"]] == [(0, "created_at")]
    assert fingerprint() == before


# --- pages: the same absurd parameters are never a server error -----------------------------------

# The query parameters each page reads (docs/agents.md, "Query string"; crm/views.py), with a
# sample of the absurd values above, a NUL, and the same through HX-Current-URL for sections.
PAGE_VALUES: dict[str, list[str]] = {
    "range": ["99999999999", "-1", "²", "<script>alert(1)</script>"],
    "period": ["<script>alert(1)</script>", "x" * 10_000],
    "filter": ["x" * 10_000],
    "cursor": [JUNK_CURSOR, "%%%", _cursor("not|a|cursor")],
    "sort": ["<script>alert(1)</script>", "--rank", "x" * 10_000],
    "page": ["0", "-1", "99999999999999999999", "1e400", "nan", "²"],
    "entity": ["<script>", "x" * 10_000, "../../etc/passwd"],
    "start": ["0000-01-01", "2026-02-30", "9999-12-31", "x" * 10_000],
    "end": ["0000-01-01", "2026-13-01", "<script>"],
    "region": ["<script>alert(1)</script>", "x" * 10_000],
    "agent": ["not-an-email", "x" * 10_000],
    "tab": ["<script>", "../../etc/passwd"],
    "hour": ["24", "-1", "²", "99999999999999999999"],
    "weekday": ["0", "8", "nan"],
    "scoreMin": ["-1", "101", "1e400"],
    "dealMin": ["1e400", "-5", "nan", "9" * 40],
    "cohortWeek": ["2026-03-10", "0000-01-01", "x"],
    "convertedWithinDays": ["0", "99999999999"],
    "from": ["2026-02-30", "1-1-1"],
    "campaign": ["x" * 10_000, "<script>"],
    "compare": ["a,a", ",,,,,,,,", "x" * 10_000],
    "type": ["<script>alert(1)</script>", "x" * 10_000],
    "priority": ["urgent", "x" * 10_000],
    "resolved": ["maybe", "1e400"],
    "lead": ["-1", "abc", "9" * 40, "1e400"],
    "status": ["<script>alert(1)</script>", "x" * 10_000, "approved\u0000"],
    "report": ["-1", "abc", "9" * 40],
    "file": ["-1", "abc", "9" * 40, "²"],
}
BI_PAGE_PARAMS = ("type", "priority", "resolved", "lead", "agent", "page")
DASHBOARD_PARAMS = ("range", "start", "end", "region", "agent", "tab", "period", "compare")
PAGE_PARAMS = {
    "home": (),
    "crm-import": ("entity",),
    "crm-import-columns": ("entity",),
    "crm-import-run": ("page",),
    "crm-import-run-status": ("page",),
    "agent-team": ("range", "sort"),
    "agent-team-table": ("range", "sort"),
    "insights-dashboard": DASHBOARD_PARAMS,
    "bi-insights": BI_PAGE_PARAMS,
    "bi-insights-list": BI_PAGE_PARAMS,
    "pricing-page": ("status", "page"),
    "experiments-list": ("status", "page"),
    "experiments-new": ("campaign", "product"),
    "experiments-detail": (),
    "experiments-results": (),
    "reports-builder": ("range", "start", "end", "region", "agent", "report"),
    "reports-preview": ("range", "start", "end", "region", "agent"),
    "reports-export": (),
    "reports-export-download": (),
    "reports-delivery-download": ("file",),
    "insights-tab": DASHBOARD_PARAMS,
    "insights-export": DASHBOARD_PARAMS,
    "insights-records": (
        *DASHBOARD_PARAMS,
        "page",
        "hour",
        "weekday",
        "scoreMin",
        "dealMin",
        "cohortWeek",
        "convertedWithinDays",
        "from",
        "campaign",
    ),
    **{
        f"agent-{prefix}{section}": ("range", "period", "filter", "cursor")
        for prefix in ("", "detail-")
        for section in ("page", "revenue", "timeline", "goals")
    },
}
HTML_ROUTES = [
    route for route in policy_routes() if route.kind == "html" and "GET" in POLICY[route.name].methods
]


def test_every_page_has_its_parameters_listed():
    assert {route.name for route in HTML_ROUTES} == set(PAGE_PARAMS)


def page_probes(route_name: str):
    for param in (*PAGE_PARAMS[route_name], "undocumented"):
        for value in [*PAGE_VALUES.get(param, []), "\u0000", "7d\u0000"]:
            yield param, value


@pytest.mark.parametrize("route", HTML_ROUTES, ids=lambda route: route.name)
def test_absurd_page_parameters_are_never_a_server_error(world, route):
    values = {param: world.object_value(PATH_PARAMS[param], "A") for param in route.params}
    url = route.url(**values)
    client = client_for(world, PERSONA["manager_a"], "html")
    is_section = route.name.endswith(("revenue", "timeline", "goals", "table", "status", "columns"))
    failures = []
    for param, value in page_probes(route.name):
        query = urlencode({param: value})
        responses = [("plain", client.get(f"{url}?{query}"))]
        if is_section:
            # an HTMX section reads the rest of its state from the address bar
            current = f"http://testserver{url}?{query}"
            responses.append(
                ("htmx", client.get(url, headers={"HX-Request": "true", "HX-Current-URL": current}))
            )
        failures += [
            (kind, param, value[:40], response.status_code)
            for kind, response in responses
            if response.status_code >= 500
        ]
    assert not failures, failures


def test_nul_in_the_login_form_is_not_a_server_error(world):
    client = client_for(world, PERSONA["anonymous"], "html")
    response = client.post("/accounts/login/", {"username": "admin@acme.test\u0000", "password": "x\u0000"})
    assert response.status_code == 200
