"""The inference endpoints, each declared once: the HTTP viewset (views.py), the WebSocket door's
request types (inference_platform/asgi.py) and batch items (apps/batches) all read this table, so
a request is validated, executed and shaped the same way whichever door it came through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rest_framework.serializers import Serializer

from apps.customers.principal import Principal
from apps.models_registry.models import Model
from apps.pipeline.exchange import Data, Events, Exchange

from . import services
from .generation_events import GenerationEvents
from .requests import ChatRequest, CompletionRequest, EmbeddingRequest, InferenceRequest
from .serializers import (
    ChatCompletionRequestSerializer,
    ChatCompletionSerializer,
    CompletionRequestSerializer,
    CompletionSerializer,
    EmbeddingListSerializer,
    EmbeddingRequestSerializer,
)

Run = Callable[[Principal, Any], Awaitable[services.Completed]]
Stream = Callable[[Principal, Any], Awaitable[GenerationEvents]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str  # the WebSocket message type, and the usage records' `endpoint`
    path: str  # what a batch item names
    request_serializer: type[Serializer[Any]]
    # The answer's shape in the schema. The service returns its data in that shape already, JSON's
    # own types only (tests/inference/test_response_shapes.py holds them to it): rendering it with
    # the serializer again cost 6% of a proxied request's CPU, and batch results store it as is.
    response_serializer: type[Serializer[Any]]
    model_kind: str
    parse: Callable[[dict[str, Any]], InferenceRequest]
    run: Run
    stream: Stream | None = None

    async def call(self, exchange: Exchange, body: Any, *, stream: bool | None = None) -> Data | Events:
        """Validate `body`, run the service (streamed if the body or the door asks), shape the data."""
        serializer = self.request_serializer(data=body)
        serializer.is_valid(raise_exception=True)
        return await self.execute(exchange, self.parse(serializer.validated_data), stream=stream)

    async def execute(self, exchange: Exchange, request: Any, *, stream: bool | None = None) -> Data | Events:
        """Run the service for a request another wire format validated (the OpenAI-compatible door)."""
        exchange.facts.model = request.model
        if self.stream is not None and (request.stream if stream is None else stream):
            events = await self.stream(exchange.principal, request)
            return Events(events, charge=events.charge)
        completed = await self.run(exchange.principal, request)
        return Data(completed.data, charge=completed.charge)


COMPLETIONS = Endpoint(
    name="completions",
    path="/v1/completions",
    request_serializer=CompletionRequestSerializer,
    response_serializer=CompletionSerializer,
    model_kind=Model.Kind.CHAT,
    parse=CompletionRequest.from_validated,
    run=services.complete,
    stream=services.complete_stream,
)
CHAT_COMPLETIONS = Endpoint(
    name="chat.completions",
    path="/v1/chat/completions",
    request_serializer=ChatCompletionRequestSerializer,
    response_serializer=ChatCompletionSerializer,
    model_kind=Model.Kind.CHAT,
    parse=ChatRequest.from_validated,
    run=services.chat,
    stream=services.chat_stream,
)
EMBEDDINGS = Endpoint(
    name="embeddings",
    path="/v1/embeddings",
    request_serializer=EmbeddingRequestSerializer,
    response_serializer=EmbeddingListSerializer,
    model_kind=Model.Kind.EMBEDDING,
    parse=EmbeddingRequest.from_validated,
    run=services.embed,
)

ENDPOINTS = (COMPLETIONS, CHAT_COMPLETIONS, EMBEDDINGS)
ENDPOINTS_BY_PATH = {endpoint.path: endpoint for endpoint in ENDPOINTS}
STREAMING_ENDPOINTS = tuple(endpoint for endpoint in ENDPOINTS if endpoint.stream is not None)


def socket_handlers() -> dict[str, Callable[[Exchange, dict[str, Any]], Awaitable[Data | Events]]]:
    """The WebSocket door's request types: `{"type": "<name>", "body": {…}}`, always streamed."""

    def handler(endpoint: Endpoint) -> Callable[[Exchange, dict[str, Any]], Awaitable[Data | Events]]:
        async def handle(exchange: Exchange, message: dict[str, Any]) -> Data | Events:
            return await endpoint.call(exchange, message.get("body"), stream=True)

        return handle

    return {endpoint.name: handler(endpoint) for endpoint in STREAMING_ENDPOINTS}
