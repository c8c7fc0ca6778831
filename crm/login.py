"""The sign-in page, rate limited per address (G10).

django-axes locks an e-mail out after repeated failures from one address (settings); the
limit here caps every sign-in attempt from one address, whichever e-mail it tries, so one
address cannot walk through many accounts. Without the limiter's store (Redis down) sign-in
is refused with 503 rather than left unlimited (core.throttles)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from core.errors import status_page
from core.ratelimit import RateLimitUnavailable
from core.throttles import UNAVAILABLE_RETRY_SECONDS, client_address, count, retry_after
from crm.forms import LoginForm


class LoginView(auth_views.LoginView):
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            decision = count("login", f"addr:{client_address(request)}")
        except RateLimitUnavailable:
            page = status_page(
                503, "Signing in is paused", "Signing in is paused for a moment; please try again shortly."
            )
            return retry_after(page, UNAVAILABLE_RETRY_SECONDS)
        if decision is not None and not decision.allowed:
            page = status_page(
                429,
                "Too many sign-in attempts",
                f"Too many sign-in attempts from your address; try again in {decision.retry_after_seconds} s.",
            )
            return retry_after(page, decision.retry_after_seconds)
        return super().post(request, *args, **kwargs)
