"""The request pipeline of every `/v1/` endpoint, readable in one place.

DRF's `initial()` runs authenticate -> permissions -> throttles; ours runs, in this order:

1. request id        `initialize_request`: `req_…`, echoed as X-Request-Id and `meta.request_id`
2. authenticate      the bearer token, from the in-process token cache (never raises)
3. rate limit        per token, or per client IP without a valid token, so scanners and token
                     guessers are limited too; every later response carries the headers
4. require a token   401 only now, after counting
5. body size         413 when the ASGI guard stopped reading an oversized body
6. idempotency       a POST with Idempotency-Key claims it, or replays / 409 / 422 right here
7. the endpoint      validate -> service -> serialize; a service's cost is a pending `Charge`
8. settle            on success, the charge and the key's completion commit in ONE transaction;
                     on failure the key is released and nothing is charged
9. envelope          wrap data, add X-Request-Id and the rate-limit headers
10. request log      one buffered row per request, written off the hot path

Errors anywhere become an error envelope in `apps.core.exception_handler`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.body_limit import body_too_large
from apps.core.envelope import new_request_id, success
from apps.core.errors import AuthenticationRequired, PayloadTooLarge, ServiceUnavailable
from apps.core.exception_handler import ErrorResponse, api_exception_handler
from apps.customers.authentication import ApiTokenAuthentication
from apps.customers.principal import Principal
from apps.idempotency.services import (
    Claim,
    StoredResponse,
    idempotency_begin,
    idempotency_key_validate,
    idempotency_release,
    request_fingerprint,
)
from apps.ratelimits.headers import rate_limit_headers
from apps.ratelimits.limiter import rate_limit_enforce
from apps.usage.charges import Charge

from .parsers import ApiJsonParser
from .request import ApiRequest
from .request_facts import count_request, facts_from_http, log_request
from .settlement import settle_success

REPLAY_HEADERS = ("Content-Type",)


class JsonOnly(DefaultContentNegotiation):
    """Always answer JSON: an Accept header we cannot satisfy is no reason to fail (no 406)."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class Replay(Exception):
    """Raised by step 6 to answer with a stored response instead of executing."""

    def __init__(self, stored: StoredResponse) -> None:
        self.stored = stored


class ApiView(APIView):
    public = False  # True: no token needed (still rate limited per IP)
    authentication_classes = [ApiTokenAuthentication]
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []
    content_negotiation_class = JsonOnly
    parser_classes = [ApiJsonParser]
    metadata_class = None  # OPTIONS is 405, not DRF's metadata page

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> ApiRequest:
        started_at = time.perf_counter()
        api_request = ApiRequest(
            request,
            parsers=self.get_parsers(),
            authenticators=self.get_authenticators(),
            negotiator=self.get_content_negotiator(),
            parser_context=self.get_parser_context(request),
        )
        api_request.facts = facts_from_http(api_request, request_id=new_request_id(), started_at=started_at)
        return api_request

    def initial(self, request: ApiRequest, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self.format_kwarg = self.get_format_suffix(**kwargs)
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(request)
        principal = request.auth if isinstance(request.auth, Principal) else None
        request.facts.principal = principal
        if principal is None and isinstance(request.auth_failure, ServiceUnavailable):
            # The token could not be checked (the database is down): no failed guess, so not
            # counted against the client IP's budget, where it turned concurrent requests into 429s.
            request.rate_limit = count_request(request.facts, increment=False)
            raise request.auth_failure
        request.rate_limit = count_request(request.facts)
        rate_limit_enforce(request.rate_limit)
        if principal is None and not self.public:
            raise request.auth_failure or AuthenticationRequired()
        if body_too_large(request._request):
            raise PayloadTooLarge(f"The request body exceeds {settings.API_MAX_BODY_BYTES} bytes.")
        if principal is not None and request.method == "POST":
            request.idempotency_claim = _claim_idempotency_key(request, principal)

    def charge(self, request: ApiRequest, charge: Charge) -> None:
        """Endpoints hand their cost to the pipeline; it is committed only with a success."""
        request.pending_charge = charge

    def handle_exception(self, exc: Exception) -> HttpResponseBase:  # type: ignore[override]
        if isinstance(exc, Replay):
            return _replay_response(exc.stored)
        return super().handle_exception(exc)

    def finalize_response(  # type: ignore[override]
        self, request: ApiRequest, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[arg-type]
        if isinstance(response, Response) and not isinstance(response, ErrorResponse):
            response.data = success(response.data, request_id=request.request_id)
        if not getattr(response, "streaming", False):
            response = self._settle(request, response)
        if "X-Request-Id" not in response:
            response["X-Request-Id"] = request.request_id
        if request.rate_limit is not None:
            for name, value in rate_limit_headers(request.rate_limit).items():
                response[name] = value
        if not getattr(response, "streaming", False):  # a stream logs itself when it ends
            charge = request.pending_charge
            log_request(
                request.facts,
                status=response.status_code,
                error=getattr(response, "api_error", None),
                replayed=response.get("Idempotent-Replayed") == "true",
                usage=charge.usage if charge else None,
            )
        return response

    def _settle(self, request: ApiRequest, response: HttpResponseBase) -> HttpResponseBase:
        claim = request.idempotency_claim
        if response.status_code >= 300 or response.get("Idempotent-Replayed") == "true":
            if claim is not None:
                idempotency_release(claim=claim)
            return response
        if isinstance(response, Response):
            response.render()
        try:
            settle_success(
                request_id=request.request_id,
                charge=request.pending_charge,
                claim=claim,
                status=response.status_code,
                body=cast(HttpResponse, response).content,  # not streaming: rendered above
                headers={name: response[name] for name in REPLAY_HEADERS if name in response},
            )
        except Exception as exc:
            if claim is not None:
                _release_quietly(claim)
            failed = api_exception_handler(exc, {"request": request, "view": self})
            return super().finalize_response(request, failed)
        return response


def _claim_idempotency_key(request: ApiRequest, principal: Principal) -> Claim | None:
    raw = request.META.get("HTTP_IDEMPOTENCY_KEY")
    if raw is None:
        return None
    key = idempotency_key_validate(raw)
    fingerprint = request_fingerprint(method=request.method or "POST", path=request.path, body=request.body)
    outcome = idempotency_begin(
        customer_id=principal.customer_id, key=key, fingerprint=fingerprint, request_id=request.request_id
    )
    if isinstance(outcome, StoredResponse):
        raise Replay(outcome)
    return outcome


def _replay_response(stored: StoredResponse) -> HttpResponseBase:
    response: HttpResponseBase
    if stored.events is not None:  # a streamed request: the same events again
        response = StreamingHttpResponse(_replayed_events(stored.events), content_type="text/event-stream")
    else:
        response = HttpResponse(stored.body, status=stored.status, content_type=stored.headers.get("Content-Type"))
    response["Idempotent-Replayed"] = "true"
    # The body is byte-identical to the original, so its request id is the original's too.
    response["X-Request-Id"] = stored.request_id
    return response


async def _replayed_events(events: list[str]) -> AsyncIterator[str]:
    for event in events:
        yield event


def _release_quietly(claim: Claim) -> None:
    # The database may be what failed; then the claim goes stale and a later retry takes it over.
    with contextlib.suppress(Exception):
        idempotency_release(claim=claim)
