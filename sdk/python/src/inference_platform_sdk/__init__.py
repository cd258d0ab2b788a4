"""Python client for the Inference Platform API (sdk/python/README.md).

from inference_platform_sdk import Client

with Client() as client:  # API_TOKEN, and API_BASE_URL or http://127.0.0.1:8000
    print(client.inference.complete(model="smollm2-135m-instruct", prompt="Hello").choices[0].text)
"""

from ._client import DEFAULT_BASE_URL, AsyncClient, Client
from ._errors import (
    APIConnectionError,
    APIConnectionTimeoutError,
    APIError,
    APIResponseValidationError,
    APIUserAbortError,
    AuthenticationError,
    BadRequestError,
    BatchWaitTimeoutError,
    ConflictError,
    InferencePlatformError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from ._pagination import AsyncPage, AsyncPaginator, SyncPage
from ._response import RateLimitInfo, ResponseMeta
from ._streaming import AsyncStream, Stream
from ._version import __version__
from .resources._batch_wait import TERMINAL_BATCH_STATUSES, is_terminal_batch
from .resources.batches import AsyncBatchEventStream, BatchEventStream
from .resources.inference import AsyncCompletionStream, CompletionStream

__all__ = [
    "DEFAULT_BASE_URL",
    "TERMINAL_BATCH_STATUSES",
    "APIConnectionError",
    "APIConnectionTimeoutError",
    "APIError",
    "APIResponseValidationError",
    "APIUserAbortError",
    "AsyncBatchEventStream",
    "AsyncClient",
    "AsyncCompletionStream",
    "AsyncPage",
    "AsyncPaginator",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "BatchEventStream",
    "BatchWaitTimeoutError",
    "Client",
    "CompletionStream",
    "ConflictError",
    "InferencePlatformError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimitInfo",
    "ResponseMeta",
    "Stream",
    "SyncPage",
    "UnprocessableEntityError",
    "__version__",
    "is_terminal_batch",
]
