"""The entry points, `Client` and `AsyncClient`: configuration, the resources (`client.inference`,
…), and the few ways a resource talks to the server (a JSON call, a page of a list, a stream).
Resources hold no HTTP logic of their own."""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol, TypeVar

import httpx
from typing_extensions import Self

from ._http import ClientConfig, Delivered, RequestOptions, RequestSpec, async_send, send
from ._models import APIModel
from ._pagination import AsyncPage, SyncPage
from ._parse import envelope_data, parse
from ._response import ResponseMeta, response_meta
from ._streaming import AsyncStream, Stream, StreamEvents
from .resources.batches import AsyncBatches, Batches
from .resources.embeddings import AsyncEmbeddings, Embeddings
from .resources.inference import AsyncInference, Inference
from .resources.models import AsyncModels, Models
from .resources.usage import AsyncUsage, Usage

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2

T = TypeVar("T")
ItemT = TypeVar("ItemT", bound=APIModel)
FinalT = TypeVar("FinalT", bound=APIModel)


class Listing(Protocol[ItemT]):
    """A generated list model: `{items, next_cursor}`."""

    @property
    def items(self) -> list[ItemT]: ...

    @property
    def next_cursor(self) -> str | None: ...


def resolve_config(
    *,
    token: str | None,
    base_url: str | None,
    timeout: float,
    max_retries: int,
    default_headers: Mapping[str, str] | None,
) -> ClientConfig:
    token = token if token is not None else os.environ.get("API_TOKEN")
    if not token:
        raise ValueError("The client needs an API token: pass token='ipk_…' or set API_TOKEN.")
    base_url = base_url if base_url is not None else (os.environ.get("API_BASE_URL") or DEFAULT_BASE_URL)
    url = httpx.URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL}, not {base_url!r}.")
    root = base_url.rstrip("/")
    if root.endswith("/v1"):
        raise ValueError(f"base_url is the server's root, without /v1: {root.removesuffix('/v1')!r}.")
    if timeout <= 0 or max_retries < 0:
        raise ValueError("timeout must be positive and max_retries at least 0.")
    return ClientConfig(
        base_url=root, token=token, timeout=timeout, max_retries=max_retries, default_headers=default_headers or {}
    )


def _meta(delivered: Delivered, envelope_meta: Any = None) -> ResponseMeta:
    return response_meta(
        delivered.response,
        idempotency_key=delivered.idempotency_key,
        attempts=delivered.attempts,
        envelope_meta=envelope_meta,
    )


def _unwrap(delivered: Delivered, cast_to: type[T]) -> T:
    data, envelope_meta = envelope_data(delivered.body, delivered.response)
    return parse(cast_to, data, delivered.response, _meta(delivered, envelope_meta))


class Client:
    """A client for the Inference Platform API.

    `token` defaults to API_TOKEN; `base_url` (the server's root, without /v1) to API_BASE_URL,
    else http://127.0.0.1:8000. `timeout` (seconds) bounds the wait for a response, and for a
    stream the silence between two events; `max_retries` counts retries after the first attempt.
    Close it (`with Client() as client:` or `client.close()`) to release its connections."""

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._config = resolve_config(
            token=token, base_url=base_url, timeout=timeout, max_retries=max_retries, default_headers=default_headers
        )
        self._http = http_client if http_client is not None else httpx.Client()
        self.inference = Inference(self)
        self.embeddings = Embeddings(self)
        self.models = Models(self)
        self.usage = Usage(self)
        self.batches = Batches(self)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def timeout(self) -> float:
        return self._config.timeout

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # The ways a resource talks to the server.

    def _call(self, spec: RequestSpec, cast_to: type[T], options: RequestOptions) -> T:
        return _unwrap(send(self._http, self._config, spec, options), cast_to)

    def _page(
        self, path: str, listing: type[Listing[ItemT]], query: Mapping[str, Any], options: RequestOptions
    ) -> SyncPage[ItemT]:
        delivered = send(self._http, self._config, RequestSpec("GET", path, query), options)
        data, envelope_meta = envelope_data(delivered.body, delivered.response)
        page = parse(listing, data, delivered.response)
        return SyncPage(
            page.items,
            page.next_cursor,
            _meta(delivered, envelope_meta),
            lambda cursor: self._page(path, listing, {**query, "cursor": cursor}, options),
        )

    def _stream(
        self,
        spec: RequestSpec,
        item_type: type[ItemT],
        final_type: type[FinalT],
        events: StreamEvents,
        options: RequestOptions,
    ) -> Stream[ItemT, FinalT]:
        delivered = send(self._http, self._config, spec, options)
        return Stream(
            delivered.response, meta=_meta(delivered), item_type=item_type, final_type=final_type, events=events
        )


class AsyncClient:
    """The asyncio twin of `Client`: the same resources and methods, awaited. List methods return
    an `AsyncPaginator` (`await` it for one page, `async for` over it for every item). Close it
    with `async with AsyncClient() as client:` or `await client.close()`."""

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._config = resolve_config(
            token=token, base_url=base_url, timeout=timeout, max_retries=max_retries, default_headers=default_headers
        )
        self._http = http_client if http_client is not None else httpx.AsyncClient()
        self.inference = AsyncInference(self)
        self.embeddings = AsyncEmbeddings(self)
        self.models = AsyncModels(self)
        self.usage = AsyncUsage(self)
        self.batches = AsyncBatches(self)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def timeout(self) -> float:
        return self._config.timeout

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()

    async def _call(self, spec: RequestSpec, cast_to: type[T], options: RequestOptions) -> T:
        return _unwrap(await async_send(self._http, self._config, spec, options), cast_to)

    async def _page(
        self, path: str, listing: type[Listing[ItemT]], query: Mapping[str, Any], options: RequestOptions
    ) -> AsyncPage[ItemT]:
        delivered = await async_send(self._http, self._config, RequestSpec("GET", path, query), options)
        data, envelope_meta = envelope_data(delivered.body, delivered.response)
        page = parse(listing, data, delivered.response)
        return AsyncPage(
            page.items,
            page.next_cursor,
            _meta(delivered, envelope_meta),
            lambda cursor: self._page(path, listing, {**query, "cursor": cursor}, options),
        )

    async def _stream(
        self,
        spec: RequestSpec,
        item_type: type[ItemT],
        final_type: type[FinalT],
        events: StreamEvents,
        options: RequestOptions,
    ) -> AsyncStream[ItemT, FinalT]:
        delivered = await async_send(self._http, self._config, spec, options)
        return AsyncStream(
            delivered.response, meta=_meta(delivered), item_type=item_type, final_type=final_type, events=events
        )
