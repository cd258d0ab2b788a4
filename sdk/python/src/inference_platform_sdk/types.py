"""The SDK's types by their friendly names. Results are pydantic models generated from the server's
schema (`_generated/models.py`); parameters are TypedDicts generated from the same schema
(`_generated/params.py`), so a field added to a server serializer reaches both with `make sdk`."""

from __future__ import annotations

from ._generated import params
from ._generated.models import (
    Batch,
    BatchCounts,
    BatchItemStatus,
    BatchList,
    BatchResult,
    BatchResultList,
    BatchStatus,
    ChatChoice,
    ChatCompletion,
    ChatCompletionBatchResult,
    ChatMessage,
    Completion,
    CompletionBatchResult,
    CompletionChoice,
    Embedding,
    EmbeddingBatchResult,
    EmbeddingList,
    Error,
    ErrorCode,
    ErrorDetail,
    Meta,
    Model,
    ModelList,
    StreamChunk,
    StreamDone,
    Usage,
    UsageDay,
    UsageReport,
)

# What the methods take: keyword arguments, typed by these TypedDicts (`**params: Unpack[...]`).
CompletionParams = params.CompletionRequest
ChatCompletionParams = params.ChatCompletionRequest
ChatMessageParam = params.ChatMessage
EmbeddingParams = params.EmbeddingRequest
ModelListParams = params.ModelsListParametersQuery
UsageParams = params.UsageRetrieveParametersQuery
BatchCreateParams = params.BatchCreateRequest
#: One request of a batch: a union keyed by `endpoint`, whose `body` is that endpoint's parameters.
BatchRequestParam = params.BatchItemRequest
ChatCompletionBatchRequestParam = params.ChatCompletionBatchRequest
CompletionBatchRequestParam = params.CompletionBatchRequest
EmbeddingBatchRequestParam = params.EmbeddingBatchRequest
BatchListParams = params.BatchesListParametersQuery
BatchResultsParams = params.BatchesResultsParametersQuery

__all__ = [
    "Batch",
    "BatchCounts",
    "BatchCreateParams",
    "BatchItemStatus",
    "BatchList",
    "BatchListParams",
    "BatchRequestParam",
    "BatchResult",
    "BatchResultList",
    "BatchResultsParams",
    "BatchStatus",
    "ChatChoice",
    "ChatCompletion",
    "ChatCompletionBatchRequestParam",
    "ChatCompletionBatchResult",
    "ChatCompletionParams",
    "ChatMessage",
    "ChatMessageParam",
    "Completion",
    "CompletionBatchRequestParam",
    "CompletionBatchResult",
    "CompletionChoice",
    "CompletionParams",
    "Embedding",
    "EmbeddingBatchRequestParam",
    "EmbeddingBatchResult",
    "EmbeddingList",
    "EmbeddingParams",
    "Error",
    "ErrorCode",
    "ErrorDetail",
    "Meta",
    "Model",
    "ModelList",
    "ModelListParams",
    "StreamChunk",
    "StreamDone",
    "Usage",
    "UsageDay",
    "UsageParams",
    "UsageReport",
]
