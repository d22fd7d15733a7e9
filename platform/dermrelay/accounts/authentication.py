"""Token authentication for capture devices: `Authorization: Token <key>` or `Bearer <key>`,
against the hashed, expiring, revocable device tokens of accounts/device_tokens.py."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from .device_tokens import device_token_for_key

KEYWORDS = (b"token", b"bearer")


class DeviceTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Invalid token header: expected 'Token <key>' or 'Bearer <key>'.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeError as exc:
            raise AuthenticationFailed("Invalid token header: the key has invalid characters.") from exc
        token = device_token_for_key(key=key)
        if token is None:
            raise AuthenticationFailed("The token is unknown, expired or revoked: sign the device in again.")
        return token.user, token

    def authenticate_header(self, request):
        return "Token"


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes the device token (drf-spectacular registers it by class)."""

    target_class = DeviceTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Token <key>` or `Bearer <key>`: a device token from POST /api/v1/auth/token/."}
