"""POST /api/v1/ingest/<entity>/: the REST batch door (docs/ingestion.md)."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from crm.models import Contact, ImportRun, ImportStatus
from crm.services import api_key_create

URL = "/api/v1/ingest/contacts/"


def contact(external_id: str, **extra) -> dict:
    return {"external_id": external_id, "created_at": "2026-01-05T09:00:00Z", **extra}


def key_client(organization) -> APIClient:
    _, raw = api_key_create(organization=organization, name="crm sync", actor=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def key_a(org_a) -> APIClient:
    return key_client(org_a)


def post(client: APIClient, body, url: str = URL, **kwargs):
    return client.post(
        url,
        json.dumps(body) if not isinstance(body, bytes) else body,
        content_type=kwargs.pop("content_type", "application/json"),
        **kwargs,
    )


def test_an_api_key_stores_a_batch(org_a, key_a):
    # when
    response = post(key_a, [contact("c-1", name="Amina"), contact("c-2")])
    # then
    assert response.status_code == 200
    assert response.json() == {
        "entity": "contacts",
        "received": 2,
        "stored": 2,
        "rejected": 0,
        "errors": [],
        "warnings": [],
    }
    assert Contact.objects.for_org(org_a).count() == 2
    run = ImportRun.objects.get()
    assert (run.door, run.status, run.rows_stored) == ("api", ImportStatus.SUCCEEDED, 2)


def test_an_admin_token_may_ingest(org_a, admin_a, api_client_for):
    response = post(api_client_for(admin_a), [contact("c-1")])
    assert response.status_code == 200
    assert ImportRun.objects.get().started_by == admin_a


@pytest.mark.parametrize("persona", ["manager_a", "agent_a"])
def test_managers_and_agents_may_not_ingest(request, persona, api_client_for):
    member = request.getfixturevalue(persona)
    response = post(api_client_for(member), [contact("c-1")])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not Contact.objects.exists()


def test_unauthenticated_or_revoked_key_is_401(org_a):
    anonymous = post(APIClient(), [contact("c-1")])
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "not_authenticated")
    key, raw = api_key_create(organization=org_a, name="old", actor=None)
    key.revoked_at = timezone.now()
    key.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    response = post(client, [contact("c-1")])
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid or revoked API key."
    assert not Contact.objects.exists()


def test_an_outsiders_key_writes_only_into_its_own_organization(org_a, org_b):
    # given: organization B's key, and a body that names organization A
    client = key_client(org_b)
    # when
    response = post(client, [contact("c-1", organization="acme", organization_id=org_a.pk)])
    # then: the record lands in B; the fields naming A are ignored and said so
    assert response.status_code == 200
    assert response.json()["warnings"] == ["Unknown field(s) ignored: 'organization', 'organization_id'."]
    assert not Contact.objects.for_org(org_a).exists()
    assert Contact.objects.for_org(org_b).count() == 1


def test_the_outsiders_records_cannot_reference_organization_a(org_a, org_b, agent_a):
    # An agent of A named in B's batch is unknown to B.
    client = key_client(org_b)
    body = [{"external_id": "a-1", "agent": "agent@acme.test", "type": "call", "occurred_at": "2026-01-05"}]
    response = post(client, body, url="/api/v1/ingest/activities/")
    assert response.status_code == 422
    errors = response.json()["error"]["details"]["errors"]
    assert errors == [
        {
            "index": 0,
            "column": "agent",
            "reason": "unknown agent 'agent@acme.test' (not a member of this organization)",
        }
    ]


def test_some_rows_rejected_is_207_with_the_report(org_a, key_a):
    body = [contact("c-1"), contact("c-2", created_at="2026-02-30"), "oops", contact("c-1")]
    response = post(key_a, body)
    assert response.status_code == 207
    report = response.json()
    assert (report["received"], report["stored"], report["rejected"]) == (4, 1, 3)
    assert [(e["index"], e["column"]) for e in report["errors"]] == [
        (1, "created_at"),
        (2, None),
        (3, "external_id"),
    ]
    assert report["errors"][2]["reason"] == "duplicate external_id 'c-1' (first at index 0)"
    assert ImportRun.objects.get().status == ImportStatus.PARTIAL


def test_every_row_rejected_is_422_in_the_error_shape(org_a, key_a):
    response = post(key_a, [contact("c-1", created_at="9999-01-01"), {"name": "no id"}])
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("all_rejected", "All 2 records were rejected.")
    assert (error["details"]["stored"], error["details"]["rejected"]) == (0, 2)


def test_nul_characters_are_row_errors(org_a, key_a):
    response = post(key_a, [contact("c-1", name="a\u0000b"), contact("c-2")])
    assert response.status_code == 207
    assert response.json()["errors"] == [{"index": 0, "column": "name", "reason": "contains a NUL character"}]


def test_an_empty_list_is_fine(org_a, key_a):
    response = post(key_a, [])
    assert (response.status_code, response.json()["received"]) == (200, 0)


def test_a_batch_over_the_cap_is_413(org_a, key_a, settings):
    settings.CRM_INGEST_MAX_BATCH = 3
    response = post(key_a, [contact(f"c-{n}") for n in range(4)])
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": "A batch holds at most 3 records; this one has 4. Split it.",
        "details": {},
    }
    assert not Contact.objects.exists()


def test_the_default_cap_is_ten_thousand(settings):
    assert settings.CRM_INGEST_MAX_BATCH == 10000


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'[{"external_id": "c-1",', "application/json", 400, "bad_request"),
        (b'{"external_id": "c-1"}', "application/json", 400, "bad_request"),
        (b'"just a string"', "application/json", 400, "bad_request"),
        (b"external_id,created_at\nc-1,2026-01-05\n", "text/csv", 415, "unsupported_media_type"),
        (b"[]", "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_a_malformed_request_gets_a_json_error(org_a, key_a, body, content_type, status, code):
    response = post(key_a, body, content_type=content_type)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not Contact.objects.exists()


def test_a_list_is_required(org_a, key_a):
    response = post(key_a, {"external_id": "c-1"})
    assert response.json()["error"]["message"] == "The body must be a JSON list of records."


def test_an_unknown_entity_is_404(org_a, key_a):
    response = post(key_a, [contact("c-1")], url="/api/v1/ingest/deals/")
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith(
        "Unknown entity 'deals'; use one of: contacts, leads"
    )


def test_the_schema_documents_the_ingest_operation(db):
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    operation = schema["paths"]["/api/v1/ingest/{entity}/"]["post"]
    assert {"200", "207", "400", "401", "403", "404", "413", "415", "422"} <= set(operation["responses"])
    assert sorted(schema["components"]["schemas"]["IngestContactsRecordRequest"]["required"]) == [
        "created_at",
        "external_id",
    ]
    webhook = schema["paths"]["/api/v1/webhooks/messages/"]["post"]
    assert {"201", "401", "409"} <= set(webhook["responses"])
