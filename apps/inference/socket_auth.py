"""Who is on a WebSocket, decided like an HTTP request's token (apps/api/pipeline.py steps 2-4).

The consumer checks the token at the handshake (or `auth` message) and again before every request,
so a token revoked or expired while the socket is open stops at its next message. A failure counts
against the client IP like any request without a valid token, and once that budget is spent the
token is not even looked up: guessing over WebSockets is limited exactly as over HTTP.
"""

from __future__ import annotations

from apps.api.request_facts import RequestFacts, count_request
from apps.core.errors import InvalidToken
from apps.customers.principal import Principal
from apps.customers.services import token_authenticate
from apps.ratelimits.limiter import rate_limit_enforce

# WebSocket close codes: 4000 + the HTTP status, and 1013 ("try again later") for a 503.
CLOSE_CODES = {401: 4401, 429: 4429, 503: 1013}


def socket_principal(*, token: str, facts: RequestFacts) -> Principal:
    """The token's principal, or raises the error to close the socket with (401, 429, 503).
    Blocking (cache, maybe the database): call it in a thread."""
    principal = token_authenticate(presented=token, client_ip=facts.client_ip)
    if principal is not None:
        return principal
    rate_limit_enforce(count_request(facts))
    raise InvalidToken()


def close_code(status: int) -> int:
    return CLOSE_CODES.get(status, CLOSE_CODES[401])
