"""GET /v1/models and GET /v1/models/{model_id}."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from urllib.parse import quote

from typing_extensions import Unpack

from .._http import RequestSpec
from .._pagination import AsyncPage, AsyncPaginator, SyncPage
from ..types import Model, ModelList, ModelListParams
from ._base import AsyncAPIResource, SyncAPIResource, request_options

MODELS = "/v1/models"


def _path(model_id: str) -> str:
    return f"{MODELS}/{quote(model_id, safe='')}"


class Models(SyncAPIResource):
    def list(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[ModelListParams],
    ) -> SyncPage[Model]:
        """The first page (`.items`, `.next_cursor`); iterate it for every model across pages."""
        options = request_options(timeout=timeout, max_retries=max_retries, extra_headers=extra_headers)
        return self._client._page(MODELS, ModelList, dict(params), options)

    def get(
        self,
        model_id: str,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Model:
        options = request_options(timeout=timeout, max_retries=max_retries, extra_headers=extra_headers)
        return self._client._call(RequestSpec("GET", _path(model_id)), Model, options)


class AsyncModels(AsyncAPIResource):
    def list(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[ModelListParams],
    ) -> AsyncPaginator[Model]:
        """`await` it for the first page; `async for` over it for every model across pages."""
        options = request_options(timeout=timeout, max_retries=max_retries, extra_headers=extra_headers)

        def first_page() -> Awaitable[AsyncPage[Model]]:
            return self._client._page(MODELS, ModelList, dict(params), options)

        return AsyncPaginator(first_page)

    async def get(
        self,
        model_id: str,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Model:
        options = request_options(timeout=timeout, max_retries=max_retries, extra_headers=extra_headers)
        return await self._client._call(RequestSpec("GET", _path(model_id)), Model, options)
