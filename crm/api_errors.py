"""One JSON error shape for the whole API: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

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


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    status_code: int, message: str, *, code: str | None = None, details: Any = None
) -> JsonResponse:
    return JsonResponse(
        error_body(code or STATUS_CODES.get(status_code, "error"), message, details), status=status_code
    )


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


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = getattr(exc, "detail", None)
    if isinstance(exc, exceptions.ValidationError):
        message = "Invalid input."
        details = _flatten(detail)
        if isinstance(details, list):
            details = {"non_field_errors": details}
    else:
        message = str(detail) if detail is not None else str(exc)
        details = {}
    code = STATUS_CODES.get(response.status_code, "error")
    if isinstance(detail, exceptions.ErrorDetail) and detail.code and response.status_code not in (400,):
        code = detail.code if detail.code not in ("error", "invalid") else code
    response.data = error_body(code, message, details)
    return response


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """handler500: API clients get the JSON error shape, pages get Django's HTML page."""
    if request.path.startswith(API_PREFIXES):
        return error_response(
            500, "Something went wrong on our side; it has been logged.", code="server_error"
        )
    return defaults.server_error(request, *args, **kwargs)
