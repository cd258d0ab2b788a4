"""The endpoints a batch item may name, each with the request serializer, the model kind, the service
and the response serializer that its HTTP endpoint uses: a batch item is validated, executed and
shaped exactly like the same request sent on its own (DESIGN §2: one code path for every caller)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rest_framework.serializers import Serializer

from apps.customers.principal import Principal
from apps.inference import services
from apps.inference.serializers import (
    ChatCompletionRequestSerializer,
    ChatCompletionSerializer,
    CompletionRequestSerializer,
    CompletionSerializer,
    EmbeddingListSerializer,
    EmbeddingRequestSerializer,
)
from apps.models_registry.models import Model


@dataclass(frozen=True, slots=True)
class BatchEndpoint:
    request: type[Serializer[Any]]
    kind: str
    create: Callable[..., services.InferenceResult]
    response: type[Serializer[Any]]

    def execute(self, *, principal: Principal, validated: dict[str, Any]) -> services.InferenceResult:
        return self.create(principal=principal, validated=validated)


BATCH_ENDPOINTS: dict[str, BatchEndpoint] = {
    "/v1/chat/completions": BatchEndpoint(
        ChatCompletionRequestSerializer, Model.Kind.CHAT, services.chat_completion_create, ChatCompletionSerializer
    ),
    "/v1/completions": BatchEndpoint(
        CompletionRequestSerializer, Model.Kind.CHAT, services.completion_create, CompletionSerializer
    ),
    "/v1/embeddings": BatchEndpoint(
        EmbeddingRequestSerializer, Model.Kind.EMBEDDING, services.embeddings_create, EmbeddingListSerializer
    ),
}

ENDPOINT_CHOICES = sorted(BATCH_ENDPOINTS)
