"""POST /v1/embeddings."""

from __future__ import annotations

from collections.abc import Mapping

from typing_extensions import Unpack

from .._http import RequestSpec
from ..types import EmbeddingList, EmbeddingParams
from ._base import AsyncAPIResource, SyncAPIResource, request_options

EMBEDDINGS = "/v1/embeddings"


class Embeddings(SyncAPIResource):
    def create(
        self,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[EmbeddingParams],
    ) -> EmbeddingList:
        """One vector per input, in order."""
        options = request_options(
            idempotency_key=idempotency_key, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
        )
        return self._client._call(RequestSpec("POST", EMBEDDINGS, body=dict(params)), EmbeddingList, options)


class AsyncEmbeddings(AsyncAPIResource):
    async def create(
        self,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[EmbeddingParams],
    ) -> EmbeddingList:
        """One vector per input, in order."""
        options = request_options(
            idempotency_key=idempotency_key, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
        )
        return await self._client._call(RequestSpec("POST", EMBEDDINGS, body=dict(params)), EmbeddingList, options)
