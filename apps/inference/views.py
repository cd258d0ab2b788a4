"""The inference endpoints and the model list over HTTP: thin async viewsets on the pipeline's HTTP
door. Each action hands its body to the endpoint table; the exchange does the rest."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request

from apps.core.pagination import page_limit, paginate_sorted
from apps.models_registry.serializers import ModelListSerializer, ModelSerializer
from apps.models_registry.services import model_get, models_visible_to
from apps.pipeline.exchange import Data, Events
from apps.pipeline.http import PipelineViewSet, route

from .endpoints import CHAT_COMPLETIONS, COMPLETIONS, EMBEDDINGS
from .serializers import (
    ChatCompletionRequestSerializer,
    ChatCompletionSerializer,
    CompletionRequestSerializer,
    CompletionSerializer,
    EmbeddingListSerializer,
    EmbeddingRequestSerializer,
)

SSE_RESPONSE = OpenApiResponse(
    response=OpenApiTypes.STR,
    description=(
        'With `"stream": true`: Server-Sent Events. `event: chunk` carries a `StreamChunkEnvelope`, '
        "the last event is `event: done` with a `StreamDoneEnvelope` or `event: error` with an "
        "`ErrorEnvelope`. `: ping` comment lines keep idle streams open. See docs/streaming.md."
    ),
)


class InferenceViewSet(PipelineViewSet):
    @extend_schema(
        operation_id="completions_create",
        summary="Complete a prompt",
        request=CompletionRequestSerializer,
        responses={(200, "application/json"): CompletionSerializer, (200, "text/event-stream"): SSE_RESPONSE},
    )
    @route(detail=False, methods=["post"], url_path="completions", url_name="completions")
    async def complete(self, request: Request) -> Data | Events:
        return await COMPLETIONS.call(self.exchange, request.data)

    @extend_schema(
        operation_id="chat_completions_create",
        summary="Answer a conversation",
        request=ChatCompletionRequestSerializer,
        responses={(200, "application/json"): ChatCompletionSerializer, (200, "text/event-stream"): SSE_RESPONSE},
    )
    @route(detail=False, methods=["post"], url_path="chat/completions", url_name="chat-completions")
    async def chat(self, request: Request) -> Data | Events:
        return await CHAT_COMPLETIONS.call(self.exchange, request.data)

    @extend_schema(
        operation_id="embeddings_create",
        summary="Embed one or more texts",
        request=EmbeddingRequestSerializer,
        responses={200: EmbeddingListSerializer},
    )
    @route(detail=False, methods=["post"], url_path="embeddings", url_name="embeddings")
    async def embed(self, request: Request) -> Data | Events:
        return await EMBEDDINGS.call(self.exchange, request.data)


class ModelViewSet(PipelineViewSet):
    lookup_field = "model_id"
    lookup_value_converter = "str"

    @extend_schema(
        operation_id="models_list",
        summary="List the models this token may use",
        parameters=[
            OpenApiParameter("cursor", str, description="`next_cursor` of the previous page."),
            OpenApiParameter("limit", int, description="Items per page, 1-100 (default 20)."),
        ],
        responses={200: ModelListSerializer},
    )
    async def list(self, request: Request) -> Data:
        page = paginate_sorted(
            await models_visible_to(principal=self.principal),
            cursor=request.query_params.get("cursor"),
            limit=page_limit(request.query_params.get("limit")),
            key="id",
        )
        # The catalog serialized each model once; the list is assembled, not re-serialized.
        return Data({"items": [model.public for model in page.items], "next_cursor": page.next_cursor})

    @extend_schema(operation_id="models_retrieve", summary="Get one model", responses={200: ModelSerializer})
    async def retrieve(self, request: Request, model_id: str) -> Data:
        return Data((await model_get(principal=self.principal, model_id=model_id)).public)
