"""JWT for the API: POST /api/auth/token/ with {"email", "password"}, and
POST /api/auth/token/refresh/ with {"refresh"}. Their errors, like every JWT failure, are
answered in the JSON error shape by core.errors.exception_handler."""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from core.api import ApiSchema, error_responses, output
from core.throttles import lockout_response

TAGS = ["auth"]


class TokenPairOutputSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="send as `Authorization: Bearer <access>`; lives five minutes")
    refresh = serializers.CharField(help_text="exchange at /api/auth/token/refresh/ for a new access token")


class TokenAccessOutputSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="send as `Authorization: Bearer <access>`; lives five minutes")


class TokenView(jwt_views.TokenViewBase):
    """simplejwt's view, answering through the operation's Output serializer."""

    schema = ApiSchema()
    output_serializer: type[serializers.Serializer]

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        except AuthenticationFailed:
            # django-axes flags the request it refused as locked out (settings, AXES_*): the
            # answer is the lockout's 429 with Retry-After, not a 401 inviting another guess.
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request)
            raise
        self.signed_in(request, serializer)
        return output(self.output_serializer, serializer.validated_data)

    def signed_in(self, request: Request, serializer: serializers.Serializer) -> None:
        """After a successful exchange; the token endpoint's is a sign-in."""


class TokenObtainView(TokenView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_scope = "auth"
    serializer_class = jwt_serializers.TokenObtainPairSerializer
    output_serializer = TokenPairOutputSerializer

    def signed_in(self, request: Request, serializer: serializers.Serializer) -> None:
        # A sign-in like the page's: django-axes forgets this e-mail's failures from this
        # address (AXES_RESET_ON_SUCCESS). simplejwt sends no user_logged_in signal for it.
        AxesProxyHandler.user_logged_in(sender=type(self), request=request, user=serializer.user)

    @extend_schema(
        summary="Obtain an access and a refresh token with e-mail and password.",
        responses={
            200: TokenPairOutputSerializer,
            **error_responses(
                400,
                401,
                415,
                descriptions={
                    400: "email or password missing or blank.",
                    401: "No active member with this e-mail and password.",
                    429: "Too many sign-ins from this address (`throttled`), or this e-mail locked out "
                    "after repeated failures from this address (`locked_out`); Retry-After says when to retry.",
                    503: "Signing in is paused while the rate limiter is unavailable; Retry-After says when to retry.",
                },
            ),
        },
        tags=TAGS,
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        try:
            return super().validate(attrs)
        except get_user_model().DoesNotExist as exc:
            # simplejwt 5.5 looks the member up with .get(): the refresh token of a deleted
            # member would be a 500. Refuse it like that of a deactivated member.
            raise AuthenticationFailed(self.error_messages["no_active_account"], "no_active_account") from exc


class TokenRefreshView(TokenView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_scope = "auth"
    serializer_class = TokenRefreshSerializer
    output_serializer = TokenAccessOutputSerializer

    @extend_schema(
        summary="Exchange a refresh token for a new access token.",
        responses={
            200: TokenAccessOutputSerializer,
            **error_responses(
                400,
                401,
                415,
                descriptions={
                    400: "refresh missing or blank.",
                    401: "The refresh token is expired, invalid, or its member is no longer active.",
                },
            ),
        },
        tags=TAGS,
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)
