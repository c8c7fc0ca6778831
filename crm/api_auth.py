"""JWT for the API: POST /api/auth/token/ with {"email", "password"}."""

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework_simplejwt.views import TokenObtainPairView


@extend_schema(summary="Obtain an access and a refresh token with e-mail and password.", tags=["auth"])
class TokenObtainView(TokenObtainPairView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
