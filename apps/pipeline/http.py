"""The HTTP door: async DRF viewsets whose every action runs inside an `Exchange` (exchange.py).

`PipelineViewSet.dispatch` is the whole door: the request's facts and admission (token, body
guard, Idempotency-Key) go in, the action is the exchange's work, and the exchange's reply comes
out as a Django response with the request id and rate-limit headers. Actions are thin: validate,
call one service, return `Data`, `Events`, `Document` or `Lines`.

Why our own async base and not adrf's (ADR 0006): adrf runs DRF's `initial()` in a worker thread
on every request and re-inspects the class for coroutines per request; here the request never
leaves the event loop unless a step needs the database.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, cast

from asgiref.sync import markcoroutinefunction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.utils.decorators import classonlymethod
from django.views.defaults import server_error as django_server_error
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import BaseAuthentication
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.routers import DynamicRoute, SimpleRouter
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSetMixin

from apps.core.body_limit import body_too_large
from apps.core.envelope import failure, new_request_id
from apps.core.errors import InternalError, MethodNotAllowed, NotFound
from apps.customers.principal import Principal

from .exchange import Admission, Exchange, Reply, Result, StreamReply
from .facts import http_facts
from .parsers import ApiJsonParser
from .schema_extensions import PipelineSchema
from .shapes import Envelope, Shape

ENVELOPE = Envelope()


class BearerTokenAuthentication(BaseAuthentication):
    """The bearer-token scheme, as DRF and the OpenAPI schema see it. The exchange authenticated
    the request already (step 2, the same way for every door); this hands DRF what it found, so
    `request.user` and `request.auth` are the caller's principal."""

    def authenticate(self, request: Request) -> tuple[Principal, Principal] | None:
        view = request.parser_context.get("view") if request.parser_context else None
        exchange = getattr(view, "exchange", None)
        principal = exchange.facts.principal if exchange is not None else None
        return (principal, principal) if principal is not None else None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class PipelineViewSet(ViewSetMixin, APIView):
    public = False  # True: no token needed (still rate limited per client IP)
    shape: Shape = ENVELOPE
    authentication_classes = [BearerTokenAuthentication]
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []
    parser_classes = [ApiJsonParser]
    metadata_class = None  # OPTIONS is 405, not DRF's metadata page
    schema = PipelineSchema()

    exchange: Exchange

    @classonlymethod
    def as_view(cls, actions: dict[str, Any] | None = None, **initkwargs: Any) -> Any:
        # DRF's view function returns whatever `dispatch` returns: a coroutine here. Marked as a
        # coroutine function, Django's async handler awaits it on the event loop (no thread).
        return markcoroutinefunction(super().as_view(actions, **initkwargs))

    async def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:  # type: ignore[override]
        self.args, self.kwargs = args, kwargs
        self.exchange = Exchange(http_facts(request), shape=self.shape)
        reply = await self.exchange.serve(self.admission(request), partial(self._work, request))
        return http_response(self.exchange, reply)

    def admission(self, request: HttpRequest) -> Admission:
        key = request.META.get("HTTP_IDEMPOTENCY_KEY") if request.method == "POST" else None
        return Admission(
            authorization=request.META.get("HTTP_AUTHORIZATION"),
            public=self.public,
            body_too_large=body_too_large(request),
            idempotency_key=key,
            body=lambda: request.body,
        )

    async def _work(self, request: HttpRequest, exchange: Exchange) -> Result:
        method = (request.method or "").lower()
        handler = getattr(self, method, None) if method in self.http_method_names and method != "options" else None
        if handler is None:
            allowed = ", ".join(sorted(method.upper() for method in self.action_map))
            raise MethodNotAllowed(f"Method {request.method} is not allowed here.", headers={"Allow": allowed})
        self.request = self.initialize_request(request, *self.args, **self.kwargs)
        result: Result = await handler(self.request, *self.args, **self.kwargs)
        return result

    @property
    def principal(self) -> Principal:
        return self.exchange.principal


def http_response(exchange: Exchange, reply: Reply | StreamReply) -> HttpResponseBase:
    response: HttpResponseBase
    if isinstance(reply, StreamReply):
        response = StreamingHttpResponse(reply.chunks, status=reply.status, content_type=reply.content_type)
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # a proxy must not buffer a stream
    else:
        response = HttpResponse(reply.body, status=reply.status, content_type=reply.content_type)
    for name, value in (exchange.headers() | reply.headers).items():
        response[name] = value
    return response


def route[F: Callable[..., Any]](**kwargs: Any) -> Callable[[F], F]:
    """DRF's `@action`, for a pipeline viewset's async actions (which return an exchange `Result`,
    not a response: DRF's stubs would refuse them)."""
    return cast(Callable[[F], F], action(**kwargs))


class ApiRouter(SimpleRouter):
    """DRF's router in this API's URL style: no trailing slash, and list-level actions named by
    their `url_name` alone (`chat-completions`, `usage`): the Prometheus `endpoint` label and
    `reverse()` use these names."""

    routes = [
        route._replace(name="{url_name}") if isinstance(route, DynamicRoute) and not route.detail else route
        for route in SimpleRouter.routes
    ]

    def __init__(self) -> None:
        # Path converters, not regexes: `<str:model_id>` takes any segment (model ids hold dots).
        super().__init__(trailing_slash=False, use_regex_path=False)


@extend_schema(exclude=True)
class UnknownPathViewSet(PipelineViewSet):
    """The last `/v1/` route: an authenticated, rate-limited, logged 404 in the envelope."""

    async def missing(self, request: Request, *args: Any, **kwargs: Any) -> Result:
        raise NotFound(f"No endpoint at {request.path}.")

    ACTIONS = {method: "missing" for method in ("get", "post", "put", "patch", "delete", "head")}


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500, for a crash outside any exchange. Inside `/v1/` an envelope, never a traceback;
    elsewhere Django's page."""
    if not request.path.startswith("/v1/"):
        return django_server_error(request)
    request_id = new_request_id()
    response = JsonResponse(failure(InternalError().as_dict(), request_id=request_id), status=500)
    response["X-Request-Id"] = request_id
    return response
