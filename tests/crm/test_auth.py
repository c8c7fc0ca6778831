"""JWT and API-key authentication, role permissions and the error shape."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from crm.models import ApiKey, AuditLog
from crm.services import api_key_create
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_token_obtain_with_email_and_password(agent_a):
    # when an agent asks for a token with e-mail and password
    response = APIClient().post(
        "/api/auth/token/", {"email": "agent@acme.test", "password": PASSWORD}, format="json"
    )
    # then both tokens come back, and the refresh token yields a new access token
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    refreshed = APIClient().post(
        "/api/auth/token/refresh/", {"refresh": response.json()["refresh"]}, format="json"
    )
    assert refreshed.status_code == 200
    assert "access" in refreshed.json()


@pytest.mark.parametrize(
    ("email", "password"), [("agent@acme.test", "wrong-password"), ("nobody@acme.test", PASSWORD)]
)
def test_token_refused_with_json_error(agent_a, email, password):
    response = APIClient().post("/api/auth/token/", {"email": email, "password": password}, format="json")
    assert response.status_code == 401
    body = response.json()
    assert body["error"]["code"] == "not_authenticated" or body["error"]["code"]
    assert set(body["error"]) == {"code", "message", "details"}


def test_deactivated_member_gets_no_token(agent_a):
    agent_a.is_active = False
    agent_a.save()
    response = APIClient().post(
        "/api/auth/token/", {"email": "agent@acme.test", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 401


def test_access_token_of_deactivated_member_is_refused(agent_a, api_client_for):
    client = api_client_for(agent_a)
    agent_a.is_active = False
    agent_a.save()
    response = client.post("/api/v1/ingest/contacts/", [], format="json")
    assert response.status_code == 401


def test_refresh_token_is_not_an_access_token(agent_a):
    tokens = (
        APIClient()
        .post("/api/auth/token/", {"email": "agent@acme.test", "password": PASSWORD}, format="json")
        .json()
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['refresh']}")
    assert client.post("/api/v1/ingest/contacts/", [], format="json").status_code == 401


def test_api_key_is_stored_as_hash_and_audited(org_a, admin_a):
    # when an admin creates a key
    key, raw = api_key_create(organization=org_a, name="Zapier", actor=admin_a)
    # then only its hash is stored, and the creation is audited
    stored = ApiKey.objects.get(pk=key.pk)
    assert raw not in (stored.key_hash, stored.prefix)
    assert len(stored.key_hash) == 64
    assert AuditLog.objects.filter(action="api_key.create", object_id=str(key.pk)).count() == 1


def test_revoked_api_key_is_refused(org_a, admin_a):
    key, raw = api_key_create(organization=org_a, name="old", actor=admin_a)
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    response = client.post("/api/v1/ingest/contacts/", [], format="json")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid or revoked API key."


@pytest.mark.parametrize("persona", ["agent_a", "manager_a"])
def test_agents_and_managers_cannot_ingest(request, persona, api_client_for):
    member = request.getfixturevalue(persona)
    response = api_client_for(member).post("/api/v1/ingest/contacts/", [], format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_anonymous_api_request_is_401():
    response = APIClient().post("/api/v1/ingest/contacts/", [], format="json")
    assert response.status_code == 401


def test_nul_in_query_string_is_a_json_400(agent_a, api_client_for):
    response = api_client_for(agent_a).get("/api/v1/ingest/contacts/?q=a%00b")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_character"


def test_openapi_schema_and_docs_are_served_without_cdn(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/ingest/{entity}/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn." not in html
    assert "unpkg" not in html
    assert "jsdelivr" not in html


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_forged_tampered_and_expired_tokens_are_401(agent_a):
    import base64
    import datetime as dt
    import json

    import time_machine
    from rest_framework_simplejwt.tokens import AccessToken

    token = str(AccessToken.for_user(agent_a))
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["user_id"] = str(int(claims["user_id"]) + 1)
    candidates = {
        "alg none": f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{payload}.",
        "tampered claims": f"{header}.{_b64(json.dumps(claims).encode())}.{signature}",
        "bad signature": f"{header}.{payload}.{signature[:-4]}AAAA",
    }
    for name, forged in candidates.items():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
        assert client.get("/agent/analytics/kpis").status_code == 401, name
    # an access token lives five minutes
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)):
        assert client.get("/agent/analytics/kpis").status_code == 401


def test_unexpected_error_on_an_api_path_is_the_json_500(agent_a, monkeypatch):
    # given a fault deep inside an API view
    from agents import analytics

    def broken(**_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(analytics, "activities", broken)
    client = APIClient()
    client.force_authenticate(agent_a)
    client.raise_request_exception = False
    # when the agent asks for the timeline
    response = client.get("/agent/analytics/activities")
    # then the client gets the JSON error shape, not Django's HTML page
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "server_error"
    assert "boom" not in response.content.decode()


def test_deeply_nested_json_body_is_a_400(agent_a):
    client = APIClient()
    client.force_authenticate(agent_a)
    body = b"[" * 20_000 + b"]" * 20_000
    response = client.post("/agent/goals", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "nested" in response.json()["error"]["message"]
