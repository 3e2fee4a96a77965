"""API authentication by personal token: `Authorization: Token <secret>` (or `Bearer <secret>`).

DRF's own TokenAuthentication keeps one plaintext token per user; these are many per user, stored as
hashes, each revocable and optionally expiring. A token stops working the moment its owner no longer
holds a role that reads an issuer's register, whatever the token's own state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from core.access import Perm, can
from core.models import ApiToken, User

KEYWORDS = (b"token", b"bearer")
# Writing `last_used_at` on every call would turn each read into a write; a minute is precise enough.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
REFUSED = "The API token is not valid: it is unknown, revoked or expired."


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None  # not ours: the next authentication class (the session) may answer
        if len(parts) != 2:
            raise AuthenticationFailed("Send the token as “Authorization: Token <secret>”, with no spaces in it.")
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed(REFUSED) from exc
        token = ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash_of(secret)).first()
        now = timezone.now()
        if token is None or not token.usable(now) or not token.user.is_active:
            raise AuthenticationFailed(REFUSED)
        if not can(token.user, Perm.REGISTRY_READER):
            raise AuthenticationFailed(
                "The token's owner no longer holds a transfer-agent or issuer role, so the token no longer works."
            )
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # A WWW-Authenticate header makes DRF answer a missing or bad token with 401, not 403.
        return 'Token realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token made on the API tokens page: `Authorization: Token <secret>` "
            "or `Authorization: Bearer <secret>`.",
        }
