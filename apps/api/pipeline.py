"""The request pipeline of every `/v1/` endpoint, readable in one place.

DRF's `initial()` runs authenticate -> permissions -> throttles; ours runs, in this order:

1. request id        `initialize_request`: `req_…`, echoed as X-Request-Id and `meta.request_id`
2. authenticate      the bearer token, from the in-process token cache (never raises)
3. rate limit        per token, or per client IP without a valid token, so scanners and token
                     guessers are limited too; every later response carries the headers
4. require a token   401 only now, after counting
5. body size         413 when the ASGI guard stopped reading an oversized body
6. the endpoint      validate -> service (idempotency, execution, usage) -> serialize
7. envelope          `finalize_response` wraps data, adds X-Request-Id and rate-limit headers
8. request log       one buffered row per request, written off the hot path

Errors anywhere become an error envelope in `apps.core.exception_handler`.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.body_limit import body_too_large
from apps.core.client_ip import client_ip
from apps.core.envelope import new_request_id, success
from apps.core.errors import PayloadTooLarge
from apps.customers.authentication import ApiTokenAuthentication, auth_failure
from apps.customers.principal import Principal
from apps.customers.token_secrets import prefix_of
from apps.ratelimits.headers import rate_limit_headers
from apps.ratelimits.limiter import RateLimitState, rate_limit_consume, rate_limit_enforce
from apps.request_logs.recorder import last_used, request_log_record


class JsonOnly(DefaultContentNegotiation):
    """Always answer JSON: an Accept header we cannot satisfy is no reason to fail (no 406)."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


class ApiView(APIView):
    public = False  # True: no token needed (still rate limited per IP)
    authentication_classes = [ApiTokenAuthentication]
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []
    content_negotiation_class = JsonOnly
    metadata_class = None  # OPTIONS is 405, not DRF's metadata page

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        request.request_id = new_request_id()  # type: ignore[attr-defined]
        request.started_at = time.perf_counter()  # type: ignore[attr-defined]
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.format_kwarg = self.get_format_suffix(**kwargs)
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(request)
        principal: Principal | None = request.auth
        request.rate_limit = _count(request, principal)
        rate_limit_enforce(request.rate_limit)
        if principal is None and not self.public:
            raise auth_failure(request)
        if body_too_large(request._request):
            raise PayloadTooLarge(f"The request body exceeds {settings.API_MAX_BODY_BYTES} bytes.")

    def finalize_response(
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and not hasattr(response, "api_error"):
            response.data = success(response.data, request_id=request.request_id)
        response["X-Request-Id"] = request.request_id
        state: RateLimitState | None = getattr(request, "rate_limit", None)
        if state is not None:
            for name, value in rate_limit_headers(state).items():
                response[name] = value
        if not getattr(response, "streaming", False):
            _log(request, response)
        return response


def _count(request: Request, principal: Principal | None) -> RateLimitState:
    if principal is not None:
        return rate_limit_consume(
            request=request._request, key=f"token:{principal.token_id}", limit=principal.requests_per_second
        )
    return rate_limit_consume(
        request=request._request,
        key=f"ip:{client_ip(request._request)}",
        limit=settings.RATE_LIMIT_ANONYMOUS_PER_SECOND,
    )


def _log(request: Request, response: HttpResponseBase, **outcome: Any) -> None:
    # `_auth`, not `auth`: if authentication itself failed (database down), do not retry it here.
    auth = getattr(request, "_auth", None)
    principal = auth if isinstance(auth, Principal) else None
    if principal is not None:
        last_used.seen(principal.token_id)
    error = getattr(response, "api_error", None)
    usage = getattr(request, "usage", None)
    ip = client_ip(request._request)
    request_log_record(
        request_id=request.request_id,
        customer_id=principal.customer_id if principal else None,
        token_prefix=principal.token_prefix if principal else _presented_prefix(request),
        method=request.method or "",
        path=request.path,
        status=response.status_code,
        error_code=error.code if error is not None else "",
        latency_ms=round((time.perf_counter() - request.started_at) * 1000, 3),
        model=getattr(request, "log_model", ""),
        prompt_tokens=usage.prompt_tokens if usage else None,
        completion_tokens=usage.completion_tokens if usage else None,
        idempotency_key=request.META.get("HTTP_IDEMPOTENCY_KEY", "")[:255],
        replayed=response.get("Idempotent-Replayed") == "true",
        client_ip=ip if ip != "unknown" else None,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        **outcome,
    )


def _presented_prefix(request: Request) -> str:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return prefix_of(token.strip()) if scheme.lower() == "bearer" else ""
