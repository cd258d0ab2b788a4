"""`/openai/v1/`: OpenAI's wire format over the same exchange, endpoint table and services as `/v1`
(same tokens, limits and headers, Idempotency-Key, usage, request log, model registry). Each action
validates OpenAI's body, picks the shape of its answer, and runs the `/v1` endpoint."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request

from apps.core.errors import InvalidRequest
from apps.inference.endpoints import CHAT_COMPLETIONS, COMPLETIONS, EMBEDDINGS
from apps.models_registry.catalog import CatalogModel
from apps.models_registry.services import model_get, models_visible_to
from apps.pipeline.exchange import Data, Events
from apps.pipeline.http import PipelineViewSet, UnknownPathViewSet, route

from . import serializers as s
from .shapes import EmbeddingShape, GenerationShape, OpenAIShape

OWNER = "inference-platform"
STREAM = OpenApiResponse(
    response=OpenApiTypes.STR,
    description='With `"stream": true`: `data: {chunk}` lines, then `data: [DONE]`. See docs/openai-compatibility.md.',
)


class OpenAIViewSet(PipelineViewSet):
    shape = OpenAIShape()

    @extend_schema(
        operation_id="openai_chat_completions_create",
        summary="Create a chat completion (OpenAI's format)",
        request=s.OpenAIChatCompletionCreateSerializer,
        responses={(200, "application/json"): s.OpenAIChatCompletionSerializer, (200, "text/event-stream"): STREAM},
    )
    @route(detail=False, methods=["post"], url_path="chat/completions", url_name="openai-chat-completions")
    async def chat(self, request: Request) -> Data | Events:
        body = self._valid(s.OpenAIChatCompletionCreateSerializer, request.data)
        self._generation_shape(body, chat=True)
        return await CHAT_COMPLETIONS.execute(self.exchange, body.to_request())

    @extend_schema(
        operation_id="openai_completions_create",
        summary="Create a completion (OpenAI's legacy format)",
        request=s.OpenAICompletionCreateSerializer,
        responses={(200, "application/json"): s.OpenAICompletionSerializer, (200, "text/event-stream"): STREAM},
    )
    @route(detail=False, methods=["post"], url_path="completions", url_name="openai-completions")
    async def complete(self, request: Request) -> Data | Events:
        body = self._valid(s.OpenAICompletionCreateSerializer, request.data)
        self._generation_shape(body, chat=False)
        return await COMPLETIONS.execute(self.exchange, body.to_request())

    @extend_schema(
        operation_id="openai_embeddings_create",
        summary="Create embeddings (OpenAI's format)",
        request=s.OpenAIEmbeddingCreateSerializer,
        responses={200: s.OpenAIEmbeddingListSerializer},
    )
    @route(detail=False, methods=["post"], url_path="embeddings", url_name="openai-embeddings")
    async def embed(self, request: Request) -> Data | Events:
        body = self._valid(s.OpenAIEmbeddingCreateSerializer, request.data)
        self.exchange.facts.end_user = body.validated_data.get("user") or ""
        self.exchange.shape = EmbeddingShape(base64_vectors=body.validated_data["encoding_format"] == "base64")
        result = await EMBEDDINGS.execute(self.exchange, body.to_request())
        assert isinstance(result, Data)
        _check_dimensions(result, body.validated_data.get("dimensions"))
        return result

    def _valid(self, serializer_class: type[Any], data: Any) -> Any:
        body = serializer_class(data=data)
        body.is_valid(raise_exception=True)
        return body

    def _generation_shape(self, body: Any, *, chat: bool) -> None:
        validated = body.validated_data
        self.exchange.facts.end_user = validated.get("user") or ""
        include_usage = bool((validated.get("stream_options") or {}).get("include_usage"))
        self.exchange.shape = GenerationShape(chat=chat, include_usage=include_usage)


def _check_dimensions(result: Data, dimensions: int | None) -> None:
    """The models here cannot shorten their vectors: `dimensions` may only name their own size."""
    items = result.data["items"]
    size = len(items[0]["embedding"]) if items else None
    if dimensions is not None and dimensions != size:
        raise InvalidRequest(
            f"The model '{result.data['model']}' returns {size}-dimensional embeddings and cannot shorten them; "
            "leave `dimensions` out.",
            param="dimensions",
        )


class OpenAIModelViewSet(PipelineViewSet):
    shape = OpenAIShape()
    lookup_field = "model_id"
    lookup_value_converter = "str"

    @extend_schema(
        operation_id="openai_models_list", summary="List models", responses={200: s.OpenAIModelListSerializer}
    )
    async def list(self, request: Request) -> Data:
        models = await models_visible_to(principal=self.principal)
        return Data({"object": "list", "data": [_model(model) for model in models]})

    @extend_schema(
        operation_id="openai_models_retrieve", summary="Retrieve a model", responses={200: s.OpenAIModelSerializer}
    )
    async def retrieve(self, request: Request, model_id: str) -> Data:
        return Data(_model(await model_get(principal=self.principal, model_id=model_id)))


def _model(model: CatalogModel) -> dict[str, Any]:
    return {"id": model.id, "object": "model", "created": int(model.created_at.timestamp()), "owned_by": OWNER}


class OpenAIUnknownPathViewSet(UnknownPathViewSet):
    shape = OpenAIShape()
