"""Map framework-level failures on API paths to the JSON error shape.

Django answers an oversized body with an HTML 400 and a NUL byte reaches PostgreSQL as a
500; API clients get a JSON 413 / 400 instead (RELIABILITY.md G7). With DEBUG on, Django
answers a path that matches no route with its technical 404 page and never calls handler404;
API clients get the JSON 404 of core.errors.page_not_found then too.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.urls import is_valid_path

from core.errors import API_PREFIXES, error_response, page_not_found


class JsonErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIXES):
            query = unquote(request.META.get("QUERY_STRING", ""))
            if "\x00" in query or "\x00" in request.path:
                return error_response(400, "NUL characters are not allowed.", code="invalid_character")
            length = request.META.get("CONTENT_LENGTH") or "0"
            if length.isdigit() and int(length) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
                return error_response(
                    413,
                    f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
                )
        response = self.get_response(request)
        # resolver_match stays None only when no route matched: a view's own 404 keeps its body.
        # (A catch-all api/ route would do the same but make every /api/ path valid, which
        # stops CommonMiddleware's APPEND_SLASH redirects such as /api/docs -> /api/docs/.)
        if (
            settings.DEBUG
            and response.status_code == 404
            and request.resolver_match is None
            and request.path.startswith(API_PREFIXES)
        ):
            return page_not_found(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig) and request.path.startswith(API_PREFIXES):
            return error_response(413, "The request body is too large.")
        return None


class ApiSlashMiddleware:
    """An API address written without its trailing slash is served as the address with it.

    Django's APPEND_SLASH answers such a request with a 301, and clients follow a 301 with a
    GET without the body: a POST to `/api/auth/token` silently became a GET. Only a request
    that is not a GET or HEAD (those follow the redirect unharmed, and the API docs' relative
    links need it), to an address that matches no route as written and one with the slash
    added, is rewritten. Placed before CommonMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if (
            request.method not in ("GET", "HEAD")
            and path.startswith("/api/")
            and not path.endswith("/")
            and not is_valid_path(path, getattr(request, "urlconf", None))
            and is_valid_path(f"{path}/", getattr(request, "urlconf", None))
        ):
            request.path_info = f"{path}/"
            request.path = f"{request.path}/"
        return self.get_response(request)
