"""POST /api/v1/webhooks/messages/: signed chat-message deliveries (RELIABILITY G8)."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
import time_machine
from rest_framework.test import APIClient

from crm.ingestion.webhooks import sign, verify
from crm.models import ChatMessage, WebhookReceipt

URL = "/api/v1/webhooks/messages/"


def message(external_id: str = "m-1", **extra) -> dict:
    return {
        "external_id": external_id,
        "conversation_id": "conv-1",
        "direction": "inbound",
        "body": "Habari",
        "sent_at": "2026-01-05T19:00:00Z",
        **extra,
    }


def deliver(
    *,
    slug: str,
    secret: str,
    body: bytes,
    timestamp: int | None = None,
    signature: str | None = None,
    content_type: str = "application/json",
):
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        "HTTP_X_CRM_ORGANIZATION": slug,
        "HTTP_X_CRM_TIMESTAMP": str(timestamp),
        "HTTP_X_CRM_SIGNATURE": signature or sign(secret, timestamp, body),
    }
    return APIClient().post(URL, body, content_type=content_type, **headers)


def encode(record: dict) -> bytes:
    return json.dumps(record).encode()


def test_sign_matches_the_documented_recipe():
    # printf '1700000000.{}' | openssl dgst -sha256 -hmac secret
    expected = "sha256=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
    assert sign("secret", 1700000000, b"{}") == expected
    assert verify("secret", "1700000000", b"{}", expected)
    assert not verify("secret", "1700000001", b"{}", expected)
    assert not verify("secret", "1700000000", b"{}", "sha256=\u00e9")


def test_a_valid_delivery_stores_the_message_and_its_receipt(org_a, agent_a):
    body = encode(message(agent="agent@acme.test"))
    response = deliver(slug="acme", secret=org_a.webhook_secret, body=body)
    assert response.status_code == 201
    assert response.json() == {
        "entity": "messages",
        "received": 1,
        "stored": 1,
        "rejected": 0,
        "errors": [],
        "warnings": [],
    }
    stored = ChatMessage.objects.for_org(org_a).get()
    assert (stored.external_id, stored.body, stored.agent_id) == ("m-1", "Habari", agent_a.pk)
    assert list(WebhookReceipt.objects.for_org(org_a).values_list("message_id", flat=True)) == ["m-1"]


def test_a_replay_is_409_and_changes_nothing(org_a):
    body = encode(message())
    timestamp = int(time.time())
    assert (
        deliver(slug="acme", secret=org_a.webhook_secret, body=body, timestamp=timestamp).status_code == 201
    )
    # when: the same delivery again, and the same id with another body
    again = deliver(slug="acme", secret=org_a.webhook_secret, body=body, timestamp=timestamp)
    changed = deliver(slug="acme", secret=org_a.webhook_secret, body=encode(message(body="edited")))
    # then
    assert (again.status_code, changed.status_code) == (409, 409)
    assert again.json()["error"]["code"] == "replay"
    assert ChatMessage.objects.for_org(org_a).get().body == "Habari"
    assert WebhookReceipt.objects.count() == 1


@pytest.mark.parametrize("shift", [-301, 301, -(10**9)])
def test_a_stale_or_future_timestamp_is_refused(org_a, shift):
    body = encode(message())
    # A frozen whole second: with a running clock the request's own duration (and the
    # fraction int() drops) moved "301 s ahead" back inside the window on a busy machine.
    with time_machine.travel(dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC), tick=False):
        response = deliver(
            slug="acme", secret=org_a.webhook_secret, body=body, timestamp=int(time.time()) + shift
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "stale_timestamp"
    assert not ChatMessage.objects.exists()


def test_a_timestamp_inside_the_window_is_accepted(org_a):
    body = encode(message())
    response = deliver(slug="acme", secret=org_a.webhook_secret, body=body, timestamp=int(time.time()) - 290)
    assert response.status_code == 201


def test_a_forged_signature_is_refused_and_logged(org_a, caplog):
    timestamp = int(time.time())
    body = encode(message())
    forged = sign("guessed-secret", timestamp, body)
    with caplog.at_level("WARNING", logger="crm.security"):
        response = deliver(slug="acme", secret="unused", body=body, timestamp=timestamp, signature=forged)
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "invalid_signature",
        "message": "Missing or invalid webhook signature.",
        "details": {},
    }
    assert not ChatMessage.objects.exists()
    assert not WebhookReceipt.objects.exists()
    assert "webhook rejected code=invalid_signature organization='acme'" in caplog.text
    assert forged not in caplog.text


def test_a_tampered_body_is_refused(org_a):
    # given: a signature over the original body
    timestamp = int(time.time())
    signature = sign(org_a.webhook_secret, timestamp, encode(message()))
    # when: the body is changed in transit
    response = deliver(
        slug="acme",
        secret=org_a.webhook_secret,
        body=encode(message(body="send money")),
        timestamp=timestamp,
        signature=signature,
    )
    # then
    assert response.status_code == 401
    assert not ChatMessage.objects.exists()


def test_a_tampered_timestamp_is_refused(org_a):
    timestamp = int(time.time())
    body = encode(message())
    signature = sign(org_a.webhook_secret, timestamp, body)
    response = deliver(
        slug="acme", secret=org_a.webhook_secret, body=body, timestamp=timestamp - 1, signature=signature
    )
    assert response.status_code == 401


def test_a_cross_organization_delivery_is_refused(org_a, org_b):
    # given: signed with A's secret but naming B
    response = deliver(slug="globex", secret=org_a.webhook_secret, body=encode(message()))
    # then
    assert response.status_code == 401
    assert not ChatMessage.objects.exists()


def test_an_unknown_organization_answers_like_a_bad_signature(org_a):
    unknown = deliver(slug="nobody", secret=org_a.webhook_secret, body=encode(message()))
    forged = deliver(slug="acme", secret="wrong", body=encode(message()))
    assert unknown.status_code == forged.status_code == 401
    assert unknown.json() == forged.json()


@pytest.mark.parametrize(
    "missing", ["HTTP_X_CRM_ORGANIZATION", "HTTP_X_CRM_TIMESTAMP", "HTTP_X_CRM_SIGNATURE"]
)
def test_a_missing_header_is_401(org_a, missing):
    timestamp = int(time.time())
    body = encode(message())
    headers = {
        "HTTP_X_CRM_ORGANIZATION": "acme",
        "HTTP_X_CRM_TIMESTAMP": str(timestamp),
        "HTTP_X_CRM_SIGNATURE": sign(org_a.webhook_secret, timestamp, body),
    }
    del headers[missing]
    response = APIClient().post(URL, body, content_type="application/json", **headers)
    assert response.status_code == 401


def test_a_signed_but_invalid_message_is_400_and_leaves_no_receipt(org_a):
    body = encode(message(sent_at="2026-02-30T10:00:00Z"))
    response = deliver(slug="acme", secret=org_a.webhook_secret, body=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_message"
    assert [(e["index"], e["column"]) for e in error["details"]["errors"]] == [(0, "sent_at")]
    assert not WebhookReceipt.objects.exists()
    # The corrected message with the same id is then accepted.
    fixed = deliver(slug="acme", secret=org_a.webhook_secret, body=encode(message()))
    assert fixed.status_code == 201


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "one message object"),
        (b'{"body": "no id"}', "needs an external_id"),
    ],
)
def test_a_signed_body_that_is_not_a_message_is_400(org_a, body, message_part):
    response = deliver(slug="acme", secret=org_a.webhook_secret, body=body)
    assert response.status_code == 400
    assert message_part in response.json()["error"]["message"]


def test_the_body_must_be_json(org_a):
    body = encode(message())
    response = deliver(slug="acme", secret=org_a.webhook_secret, body=body, content_type="text/plain")
    assert response.status_code == 415
    assert not ChatMessage.objects.exists()


def test_an_oversized_body_is_413(org_a):
    body = encode(message(body="x" * 70_000))
    response = deliver(slug="acme", secret=org_a.webhook_secret, body=body)
    assert response.status_code == 413


def test_the_organization_comes_from_the_signature_not_the_body(org_a, org_b):
    body = encode(message(organization="globex", organization_id=org_b.pk))
    response = deliver(slug="acme", secret=org_a.webhook_secret, body=body)
    assert response.status_code == 201
    assert ChatMessage.objects.for_org(org_a).count() == 1
    assert not ChatMessage.objects.for_org(org_b).exists()


def test_a_session_is_not_needed_nor_used(org_a, admin_a, api_client_for):
    # A JWT does not stand in for the signature.
    response = api_client_for(admin_a).post(URL, encode(message()), content_type="application/json")
    assert response.status_code == 401


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_store_one_message():
    # given: two deliveries of the same message racing each other
    import threading

    from django.db import connection

    from tests.factories import OrganizationFactory

    organization = OrganizationFactory(slug="race")
    body = encode(message("m-race"))
    timestamp = int(time.time())
    statuses: list[int] = []
    start = threading.Barrier(2)

    def send() -> None:
        try:
            start.wait()
            statuses.append(
                deliver(
                    slug="race", secret=organization.webhook_secret, body=body, timestamp=timestamp
                ).status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert sorted(statuses) == [201, 409]
    assert ChatMessage.objects.filter(organization=organization).count() == 1
    assert WebhookReceipt.objects.filter(organization=organization).count() == 1
