"""The API's rate limits (DRF throttles) and the login page's, on core.ratelimit (G10).

Every API request is counted once per caller: a member (JWT or session) under `user`, an
integration's API key under `apikey`, anyone else by address under `anon`. A view may add a
scope (`throttle_scope = "auth"` on the token endpoints, `"ingest"` on ingestion), counted on
top. Over a limit the answer is 429 in the error shape with `Retry-After` (core.errors).

When the limiter's store (Redis) cannot be reached: requests that sign in (the `auth` and
`login` scopes) are refused with 503 and `Retry-After`, because an unlimited login is a
password-guessing door; every other request passes, so dashboards and reads keep working
through a Redis outage (their counts resume when Redis is back). docs/security.md.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from core.ratelimit import Decision, Rate, RateLimitUnavailable, hit

logger = logging.getLogger("crm.security")

# Seconds a client is asked to wait when the limiter is unavailable for a sign-in.
UNAVAILABLE_RETRY_SECONDS = 30
FAIL_CLOSED_SCOPES = frozenset({"auth", "login"})


class LimiterUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Signing in is paused for a moment; retry shortly."
    default_code = "service_unavailable"

    def __init__(self) -> None:
        super().__init__()
        # DRF's exception handler turns `wait` into the Retry-After header.
        self.wait = UNAVAILABLE_RETRY_SECONDS


def client_address(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, or behind `TRUSTED_PROXY_COUNT` proxies the address
    the nearest trusted proxy saw (X-Forwarded-For is only trusted that far, else anyone
    could pick a fresh address per request)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def sign_in_address(request: HttpRequest) -> str | None:
    """The caller's address for django-axes (AXES_CLIENT_IP_CALLABLE), which stores it as an IP
    address: None for a request that has none (a sign-in made by code, not over HTTP)."""
    address = client_address(request)
    return None if address == "unknown" else address


def rate_for(scope: str) -> Rate:
    return Rate.parse(settings.RATE_LIMITS[scope])


def count(scope: str, key: str) -> Decision | None:
    """One request of `key` under `scope`; None when the store is down and the scope lets
    requests through then."""
    try:
        return hit(f"{scope}:{key}", rate_for(scope))
    except RateLimitUnavailable as error:
        if scope in FAIL_CLOSED_SCOPES:
            logger.warning("rate limiter unavailable: refusing %s (%s)", scope, error)
            raise
        logger.warning("rate limiter unavailable: letting %s through (%s)", scope, error)
        return None


class _Throttle(BaseThrottle):
    scope = ""

    def __init__(self) -> None:
        self._wait: int | None = None

    def key(self, request: Request, view: Any) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def scope_for(self, view: Any) -> str:
        return self.scope

    def allow_request(self, request: Request, view: Any) -> bool:
        key = self.key(request, view)
        scope = self.scope_for(view)
        if key is None or not scope:
            return True
        try:
            decision = count(scope, key)
        except RateLimitUnavailable as error:
            raise LimiterUnavailable() from error
        if decision is None or decision.allowed:
            return True
        self._wait = decision.retry_after_seconds
        return False

    def wait(self) -> int | None:
        return self._wait


def _is_api_key(request: Request) -> bool:
    return getattr(request.user, "api_key_id", None) is not None


class MemberThrottle(_Throttle):
    """A signed-in member, whichever way they authenticated (JWT or session)."""

    scope = "user"

    def key(self, request: Request, view: Any) -> str | None:
        if not request.user.is_authenticated or _is_api_key(request):
            return None
        return f"member:{request.user.pk}"


class ApiKeyThrottle(_Throttle):
    scope = "apikey"

    def key(self, request: Request, view: Any) -> str | None:
        return f"key:{request.user.api_key_id}" if _is_api_key(request) else None


class AddressThrottle(_Throttle):
    """Anyone not signed in, by address."""

    scope = "anon"

    def key(self, request: Request, view: Any) -> str | None:
        return None if request.user.is_authenticated else f"addr:{client_address(request)}"


class ScopedThrottle(_Throttle):
    """A view's own scope (`throttle_scope`), per caller: member, key, or address."""

    def scope_for(self, view: Any) -> str:
        return getattr(view, "throttle_scope", "")

    def key(self, request: Request, view: Any) -> str | None:
        if _is_api_key(request):
            return f"key:{request.user.api_key_id}"
        if request.user.is_authenticated:
            return f"member:{request.user.pk}"
        return f"addr:{client_address(request)}"


def retry_after(response: HttpResponse, seconds: int) -> HttpResponse:
    response["Retry-After"] = str(seconds)
    return response


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """django-axes' answer to a locked-out sign-in (AXES_LOCKOUT_CALLABLE): 429 with
    `Retry-After`, in the error shape for the API and as a page for people."""
    from core.errors import API_PREFIXES, error_response, status_page

    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    minutes = max(1, seconds // 60)
    logger.warning(
        "locked out: too many failed sign-ins address=%s path=%s", client_address(request), request.path
    )
    message = f"Too many failed sign-ins for this account from your address; try again in {minutes} minutes."
    if request.path.startswith(API_PREFIXES):
        return retry_after(error_response(429, message, code="locked_out"), seconds)
    return retry_after(status_page(429, "Too many sign-in attempts", message), seconds)


def sign_in_name(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The e-mail a sign-in tried, for django-axes (AXES_USERNAME_CALLABLE): the login form
    sends it as `username`, the token endpoint as `email`; counted case-insensitively, as
    members' e-mails are stored."""
    source = credentials or getattr(request, "data", None) or request.POST
    name = source.get("email") or source.get("username")
    return name.strip().lower() if isinstance(name, str) else None
