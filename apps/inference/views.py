"""Thin endpoints: validate, call one service, serialize. The pipeline does the rest."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.db import close_old_connections
from django.http import HttpResponseBase, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from apps.api.pipeline import ApiView
from apps.api.request import ApiRequest

from . import services
from .serializers import (
    ChatCompletionRequestSerializer,
    ChatCompletionSerializer,
    CompletionRequestSerializer,
    CompletionSerializer,
    EmbeddingListSerializer,
    EmbeddingRequestSerializer,
)
from .streaming import StreamContext, sse_events, sse_response, started

SSE_RESPONSE = OpenApiResponse(
    response=OpenApiTypes.STR,
    description=(
        'With `"stream": true`: Server-Sent Events. `event: chunk` carries a `StreamChunkEnvelope`, '
        "the last event is `event: done` with a `StreamDoneEnvelope` or `event: error` with an "
        "`ErrorEnvelope`. `: ping` comment lines keep idle streams open. See docs/streaming.md."
    ),
)


class InferenceView(ApiView):
    request_serializer: type[Serializer[Any]]

    def validated(self, request: ApiRequest) -> dict[str, Any]:
        serializer = self.request_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        request.facts.model = serializer.validated_data.get("model", "")
        return serializer.validated_data

    def respond(
        self, request: ApiRequest, result: services.InferenceResult, serializer: type[Serializer[Any]]
    ) -> Response:
        self.charge(request, result.charge)
        return Response(serializer(result.data).data)

    def stream(self, request: ApiRequest, start: services.StreamStart) -> StreamingHttpResponse:
        generation = async_to_sync(started)(start.generation)
        context = StreamContext(facts=request.facts, charge=start.charge, claim=request.idempotency_claim)
        # Django gives this request's database connection back only when the response closes, at
        # the end of the stream; the stream settles on a connection of its own (db_call), so with
        # the PostgreSQL pool every open stream would hold one idle and starve its own settlement.
        close_old_connections()
        return sse_response(sse_events(context, generation))


class CompletionView(InferenceView):
    request_serializer = CompletionRequestSerializer

    @extend_schema(
        operation_id="completions_create",
        summary="Complete a prompt",
        request=CompletionRequestSerializer,
        responses={(200, "application/json"): CompletionSerializer, (200, "text/event-stream"): SSE_RESPONSE},
    )
    def post(self, request: ApiRequest) -> HttpResponseBase:
        validated = self.validated(request)
        if validated["stream"]:
            return self.stream(request, services.completion_stream(principal=request.principal, validated=validated))
        result = services.completion_create(principal=request.principal, validated=validated)
        return self.respond(request, result, CompletionSerializer)


class ChatCompletionView(InferenceView):
    request_serializer = ChatCompletionRequestSerializer

    @extend_schema(
        operation_id="chat_completions_create",
        summary="Answer a conversation",
        request=ChatCompletionRequestSerializer,
        responses={(200, "application/json"): ChatCompletionSerializer, (200, "text/event-stream"): SSE_RESPONSE},
    )
    def post(self, request: ApiRequest) -> HttpResponseBase:
        validated = self.validated(request)
        if validated["stream"]:
            return self.stream(
                request, services.chat_completion_stream(principal=request.principal, validated=validated)
            )
        result = services.chat_completion_create(principal=request.principal, validated=validated)
        return self.respond(request, result, ChatCompletionSerializer)


class EmbeddingsView(InferenceView):
    request_serializer = EmbeddingRequestSerializer

    @extend_schema(
        operation_id="embeddings_create",
        summary="Embed one or more texts",
        request=EmbeddingRequestSerializer,
        responses={200: EmbeddingListSerializer},
    )
    def post(self, request: ApiRequest) -> Response:
        result = services.embeddings_create(principal=request.principal, validated=self.validated(request))
        return self.respond(request, result, EmbeddingListSerializer)
