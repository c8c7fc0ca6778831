"""JWT for the API: POST /api/auth/token/ with {"email", "password"}, and
POST /api/auth/token/refresh/ with {"refresh"}. Their errors, like every JWT failure, are
answered in the JSON error shape by core.errors.exception_handler."""

from __future__ import annotations

from typing import Any

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
        return output(self.output_serializer, serializer.validated_data)


class TokenObtainView(TokenView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    serializer_class = jwt_serializers.TokenObtainPairSerializer
    output_serializer = TokenPairOutputSerializer

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
