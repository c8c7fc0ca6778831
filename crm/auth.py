"""Organization API keys for ingestion: `Authorization: Api-Key <key>`.

Keys are shown once at creation; only their SHA-256 is stored, so a database leak does
not leak usable keys.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.utils import timezone
from rest_framework import authentication, exceptions

from crm.models import ApiKey, Organization

KEY_PREFIX_LENGTH = 8


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_generate() -> tuple[str, str, str]:
    """Return (raw key, prefix, hash). The raw key is never stored."""
    raw = "crmi_" + secrets.token_urlsafe(32)
    return raw, raw[5 : 5 + KEY_PREFIX_LENGTH], hash_key(raw)


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """The caller behind an API key: an organization's integration, not a person."""

    api_key_id: int
    organization: Organization
    role: str = "integration"
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    pk: None = None
    id: None = None
    email: str = ""

    def __str__(self) -> str:
        return f"api-key:{self.api_key_id}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(self.keyword + " "):
            return None
        raw = header[len(self.keyword) + 1 :].strip()
        key = (
            ApiKey.objects.select_related("organization")
            .filter(key_hash=hash_key(raw), revoked_at__isnull=True)
            .first()
        )
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
        return ApiKeyPrincipal(api_key_id=key.pk, organization=key.organization), key

    def authenticate_header(self, request) -> str:
        return self.keyword
