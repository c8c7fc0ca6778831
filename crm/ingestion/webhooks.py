"""Signed chat-message webhooks (DESIGN section 5, RELIABILITY G8, docs/ingestion.md).

A delivery carries three headers: X-CRM-Organization (the organization's slug),
X-CRM-Timestamp (unix seconds) and X-CRM-Signature ("sha256=" + the hex HMAC-SHA256, keyed
with the organization's webhook_secret, of f"{timestamp}." followed by the raw body). The
body is one record of the `messages` entity; its external_id is the message id that makes
a replay recognisable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from crm.ingestion.report import IngestResult
from crm.ingestion.service import ingest_records
from crm.models import Organization, WebhookReceipt

security_log = logging.getLogger("crm.security")

SIGNATURE_SCHEME = "sha256="
ORGANIZATION_HEADER = "X-CRM-Organization"
TIMESTAMP_HEADER = "X-CRM-Timestamp"
SIGNATURE_HEADER = "X-CRM-Signature"
# One chat message; anything bigger is not a message.
MAX_BODY_BYTES = 64 * 1024
ENTITY = "messages"
TIMESTAMP_RE = re.compile(r"\d{1,12}")
# Verified against when the organization does not exist, so an unknown slug costs the
# same time as a wrong signature and answers the same (no existence oracle).
_UNKNOWN_ORGANIZATION_SECRET = "unknown-organization"


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The X-CRM-Signature value for `body` sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SIGNATURE_SCHEME + mac.hexdigest()


def verify(secret: str, timestamp: int | str, body: bytes, signature: str) -> bool:
    """Whether `signature` is the one `sign` gives, compared in constant time."""
    expected = sign(secret, timestamp, body).encode()
    return hmac.compare_digest(expected, signature.encode("utf-8", errors="replace"))


class WebhookRejected(Exception):
    """A delivery refused as a whole; status and the JSON error shape's code and message."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


def _bad_signature() -> WebhookRejected:
    return WebhookRejected(401, "invalid_signature", "Missing or invalid webhook signature.")


def _authenticated_organization(
    *,
    organization_slug: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: dt.datetime,
) -> Organization:
    if not organization_slug or not timestamp or not signature or not TIMESTAMP_RE.fullmatch(timestamp):
        raise _bad_signature()
    tolerance = settings.CRM_WEBHOOK_TOLERANCE_SECONDS
    if abs(now.timestamp() - int(timestamp)) > tolerance:
        raise WebhookRejected(
            401,
            "stale_timestamp",
            f"{TIMESTAMP_HEADER} is more than {tolerance} seconds away from the server time.",
        )
    organization = Organization.objects.filter(slug=organization_slug).first()
    secret = organization.webhook_secret if organization else _UNKNOWN_ORGANIZATION_SECRET
    if not verify(secret, timestamp, body, signature) or organization is None:
        raise _bad_signature()
    return organization


def message_webhook_receive(
    *,
    organization_slug: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: dt.datetime,
) -> IngestResult:
    """Authenticate a delivery, refuse replays, and store its message with its receipt.

    Raises WebhookRejected: 413 body too large, 401 bad or missing signature (the same for
    an unknown organization), 401 timestamp outside the window, 400 a body that is not one
    valid message, 409 a message id already received. Nothing is stored on any of them.
    """
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRejected(
            413, "payload_too_large", f"A webhook body holds at most {MAX_BODY_BYTES} bytes."
        )
    try:
        organization = _authenticated_organization(
            organization_slug=organization_slug, timestamp=timestamp, signature=signature, body=body, now=now
        )
    except WebhookRejected as exc:
        # Authentication failures are security events (RELIABILITY G15); never log the signature.
        security_log.warning(
            "webhook rejected code=%s organization=%r timestamp=%r at=%s",
            exc.code,
            (organization_slug or "")[:64],
            (timestamp or "")[:20],
            now.isoformat(),
        )
        raise
    try:
        record = json.loads(body)
    except (ValueError, RecursionError):
        raise WebhookRejected(400, "bad_request", "The body is not valid JSON.") from None
    if not isinstance(record, dict):
        raise WebhookRejected(400, "bad_request", "The body must be one message object.")
    message_id = record.get("external_id")
    if not isinstance(message_id, str) or not message_id.strip():
        raise WebhookRejected(
            400,
            "bad_request",
            "The message needs an external_id (text).",
            {"errors": [{"index": 0, "column": "external_id", "reason": "is required"}]},
        )
    with transaction.atomic():
        try:
            # The receipt goes first: a concurrent duplicate waits on the unique index here
            # and then fails, instead of storing the message twice.
            with transaction.atomic():
                WebhookReceipt.objects.create(organization=organization, message_id=message_id.strip()[:100])
        except IntegrityError:
            raise WebhookRejected(409, "replay", "This message was already received.") from None
        result = ingest_records(organization=organization, entity=ENTITY, records=[record], first_row=0)
        if result.rows_rejected:
            # Leaving the block by exception rolls the receipt back: a corrected message
            # with the same id is accepted later.
            raise WebhookRejected(
                400,
                "invalid_message",
                "The message was rejected.",
                {"errors": [{"index": e.row, "column": e.column, "reason": e.reason} for e in result.errors]},
            )
    return result
