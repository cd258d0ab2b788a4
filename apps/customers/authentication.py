"""DRF authentication for `/v1/`: `Authorization: Bearer <token>`.

It never raises: the pipeline (`apps.api.pipeline`) counts the request against a limit first and
only then turns a missing or bad token into 401, so that failed attempts are rate limited too.
"""

from __future__ import annotations

from django.db import DatabaseError, InterfaceError
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from apps.core.client_ip import client_ip
from apps.core.errors import AuthenticationRequired, InvalidToken
from apps.core.exception_handler import as_api_error, database_down

from .principal import Principal
from .services import token_authenticate

MAX_TOKEN_LENGTH = 200


def bearer_token(header: str) -> str | None:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Principal, Principal] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        token = bearer_token(header) if header else None
        if token is None:
            request.auth_failure = AuthenticationRequired() if not header else InvalidToken()  # type: ignore[attr-defined]
            return None
        try:
            principal = None
            if len(token) <= MAX_TOKEN_LENGTH:
                principal = token_authenticate(presented=token, client_ip=client_ip(request._request))
        except (DatabaseError, InterfaceError) as exc:
            if not database_down(exc):
                raise
            # An uncached token and no database: counted per IP like any other failure, then a 503.
            request.auth_failure = as_api_error(exc)  # type: ignore[attr-defined]
            return None
        if principal is None:
            request.auth_failure = InvalidToken()  # type: ignore[attr-defined]
            return None
        return principal, principal

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
