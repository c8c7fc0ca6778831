"""One JSON error shape for the whole API: {"error": {"code", "message", "details"}}.

`ApplicationError` is the one exception type of our own code for a problem the caller must be
told about; `exception_handler` (DRF's EXCEPTION_HANDLER) answers it and DRF's exceptions in
that shape, `page_not_found` and `server_error` do the same for Django's 404 and 500.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import DetailDictMixin, InvalidToken

from core.tenancy import OtherOrganizationsObject

security_log = logging.getLogger("crm.security")

# Paths answered in the JSON error shape, whatever goes wrong.
API_PREFIXES = ("/api/", "/agent/analytics", "/agent/goals")

STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
    503: "service_unavailable",
}
# The message of every answer that names bad fields: the sentences are in details, per field,
# so a serializer's errors and a service's field error read the same to a client.
INVALID_INPUT = "Invalid input."
NO_SUCH_ENDPOINT = "No API endpoint at this address; /api/docs/ lists them."
# A database outage (PostgreSQL restarting, unreachable, out of connections): 503, and the
# client is told when to retry (G12).
DATABASE_ERRORS = (OperationalError, InterfaceError)
DATABASE_RETRY_SECONDS = 5
DATABASE_UNAVAILABLE = "The service cannot reach its database right now; retry in a few seconds."


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    status_code: int, message: str, *, code: str | None = None, details: Any = None
) -> JsonResponse:
    return JsonResponse(
        error_body(code or STATUS_CODES.get(status_code, "error"), message, details), status=status_code
    )


class ApplicationError(Exception):
    """A problem the caller caused or must be told about, in words they can act on.

    Services, selectors and parsers raise it; the DRF exception handler answers it with
    `status` in the JSON error shape, and HTML views catch it to show `message` (on `field`
    when set). With a `field`, details is {field: [message]}. A subclass only fixes `status`,
    `code` or `field` (or keeps the argument order of its raise sites), and exists because
    callers catch it by name.
    """

    status: int = 400
    code: str = ""  # empty: the usual code of `status` (STATUS_CODES)
    field: str | None = None

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.code = code or self.code or STATUS_CODES.get(self.status, "error")
        if field is not None:
            self.field = field
        self.details: dict[str, Any] = {self.field: [message]} if self.field else {}
        self.details.update(details or {})


class NotInOrganization(ApplicationError):
    """404 for an id the caller's organization does not hold. `elsewhere`: another
    organization holds it (core.tenancy.held_elsewhere): the answer is the same, and the
    request is logged as a security event."""

    status = 404

    def __init__(self, message: str, *, elsewhere: bool) -> None:
        super().__init__(message)
        self.elsewhere = elsewhere


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


def _flatten(detail: Any) -> Any:
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    return str(detail)


def _field_details(detail: Any) -> dict[str, Any]:
    details = _flatten(detail)
    return details if isinstance(details, dict) else {"non_field_errors": details}


def _token_error(exc: exceptions.APIException, detail: dict) -> tuple[str, str, dict[str, str]]:
    """simplejwt's errors carry a dict, {"detail", "code", "messages": [{"token_class",
    "token_type", "message"}]}, whose str() is a Python repr: answer its sentence, and the
    reason each token type refused the token as details ({"access": "Token is expired"})."""
    code = "token_not_valid" if isinstance(exc, InvalidToken) else "authentication_failed"
    reasons = {
        str(item.get("token_type", "token")): str(item.get("message", ""))
        for item in detail.get("messages", [])
        if isinstance(item, dict)
    }
    return code, str(detail.get("detail", exc.default_detail)), reasons


def log_refusal(request: HttpRequest | None, status_code: int, reason: str) -> None:
    """A refused request as a security event (RELIABILITY G15): who (user, organization, role;
    "anonymous" before authentication), what (method, path, status, reason) and when (UTC).
    Never a header or a body: tokens and passwords stay out of the logs."""
    user = getattr(request, "user", None)
    known = user is not None and getattr(user, "is_authenticated", False)
    security_log.warning(
        "refused %s user=%s organization=%s role=%s method=%s path=%s reason=%s at=%s",
        status_code,
        user.pk if known else "anonymous",
        getattr(user, "organization_id", None) if known else None,
        getattr(user, "role", None) if known else None,
        getattr(request, "method", ""),
        getattr(request, "path", ""),
        reason,
        dt.datetime.now(dt.UTC).isoformat(),
    )


def exception_handler(exc: Exception, context: dict) -> Response | None:
    # rest_framework.views reads the REST_FRAMEWORK setting when imported; importing it here
    # keeps this module, and so ApplicationError, importable by pure modules (core.timeranges,
    # insights.forecast) without Django being configured.
    from rest_framework.views import exception_handler as drf_exception_handler
    from rest_framework.views import set_rollback

    if isinstance(exc, NotInOrganization) and exc.elsewhere:
        log_refusal(context.get("request"), 404, "another organization's object")
    if isinstance(exc, ApplicationError):
        # DRF's own handler rolls back an atomic request on the exceptions it answers.
        set_rollback()
        message = INVALID_INPUT if exc.field else exc.message
        return Response(error_body(exc.code, message, exc.details), status=exc.status)
    request = context.get("request")
    if isinstance(exc, DATABASE_ERRORS) and request is not None:
        logging.getLogger("crm.db").warning("database unavailable: %s", exc)
        set_rollback()
        return database_unavailable(request)
    if isinstance(exc, OtherOrganizationsObject):
        log_refusal(request, 404, "another organization's object")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if response.status_code in (401, 403):
        log_refusal(request, response.status_code, type(exc).__name__)
    detail = getattr(exc, "detail", None)
    code = STATUS_CODES.get(response.status_code, "error")
    if isinstance(exc, exceptions.ValidationError):
        message, details = INVALID_INPUT, _field_details(detail)
    elif isinstance(exc, DetailDictMixin) and isinstance(detail, dict):
        code, message, details = _token_error(exc, detail)
    elif isinstance(detail, dict | list):
        # Any other structured detail: its structure goes to details, never its repr to message.
        message, details = str(exc.default_detail), _field_details(detail)
    else:
        message = str(detail) if detail is not None else str(exc)
        details = {}
        if isinstance(detail, exceptions.ErrorDetail) and detail.code and response.status_code != 400:
            code = detail.code if detail.code not in ("error", "invalid") else code
    response.data = error_body(code, message, details)
    return response


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: API clients get the JSON error shape, pages get Django's HTML page."""
    if isinstance(exception, OtherOrganizationsObject):
        log_refusal(request, 404, "another organization's object")
    if request.path.startswith(API_PREFIXES):
        return error_response(404, NO_SUCH_ENDPOINT, code="not_found")
    return defaults.page_not_found(request, exception)


def status_page(status_code: int, title: str, message: str) -> HttpResponse:
    """A page for an answer that is not the page asked for (429, 503), in the product's style.

    Rendered without the request: no session, user or navigation is read, so it renders
    while the database is down."""
    html = render_to_string("errors/status.html", {"status": status_code, "title": title, "message": message})
    return HttpResponse(html, status=status_code)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON for the API, a page for people."""
    if request.path.startswith(API_PREFIXES):
        response: HttpResponse = error_response(503, DATABASE_UNAVAILABLE, code="service_unavailable")
    else:
        response = status_page(503, "Back in a moment", DATABASE_UNAVAILABLE)
    response["Retry-After"] = str(DATABASE_RETRY_SECONDS)
    return response


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """handler500: API clients get the JSON error shape, pages get Django's HTML page; a
    database outage is a 503 with Retry-After either way. Django calls this inside its
    `except` block for the request, so the exception is the one being handled."""
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        return database_unavailable(request)
    if request.path.startswith(API_PREFIXES):
        return error_response(
            500, "Something went wrong on our side; it has been logged.", code="server_error"
        )
    return defaults.server_error(request, *args, **kwargs)
