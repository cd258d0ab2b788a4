"""Batch jobs: /v1/batches and its sub-resources (docs/batches.md has the server's side)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeAlias
from urllib.parse import quote

from typing_extensions import Unpack

from .. import _http
from .._errors import APIConnectionError, APIError, BatchWaitTimeoutError, InternalServerError
from .._http import RequestOptions, RequestSpec
from .._pagination import AsyncPage, AsyncPaginator, SyncPage
from .._streaming import BATCH_EVENTS, AsyncStream, Stream
from ..types import (
    Batch,
    BatchCreateParams,
    BatchList,
    BatchListParams,
    BatchResult,
    BatchResultList,
    BatchResultsParams,
)
from ._base import AsyncAPIResource, SyncAPIResource, request_options
from ._batch_wait import TERMINAL_BATCH_STATUSES, BatchWaiter, is_terminal_batch

__all__ = [
    "AsyncBatchEventStream",
    "AsyncBatches",
    "BatchEventStream",
    "Batches",
    "TERMINAL_BATCH_STATUSES",
    "is_terminal_batch",
]

#: A batch's progress: iterate for the batch whenever its status or counts change; `final()` is
#: the terminal batch.
BatchEventStream: TypeAlias = Stream[Batch, Batch]
AsyncBatchEventStream: TypeAlias = AsyncStream[Batch, Batch]

BATCHES = "/v1/batches"
# Failures of the progress stream that polling may get past (a proxy that does not stream, a
# connection lost); a 404 and the like would be answered the same to a GET.
_STREAM_BROKEN = (APIConnectionError, InternalServerError)


def _path(batch_id: str) -> str:
    return f"{BATCHES}/{quote(batch_id, safe='')}"


class Batches(SyncAPIResource):
    def create(
        self,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[BatchCreateParams],
    ) -> Batch:
        """POST /v1/batches. Its Idempotency-Key makes a retry (or a repeat with your own key and
        the same body) answer the same batch."""
        options = request_options(
            idempotency_key=idempotency_key, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
        )
        return self._client._call(RequestSpec("POST", BATCHES, body=dict(params)), Batch, options)

    def get(
        self,
        batch_id: str,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Batch:
        """GET /v1/batches/{id}: status and counts."""
        options = request_options(timeout=timeout, max_retries=max_retries, extra_headers=extra_headers)
        return self._client._call(RequestSpec("GET", _path(batch_id)), Batch, options)

    def list(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[BatchListParams],
    ) -> SyncPage[Batch]:
        """GET /v1/batches, newest first: the first page; iterate it for every batch."""
        options = request_options(timeout=timeout, max_retries=max_retries, extra_headers=extra_headers)
        return self._client._page(BATCHES, BatchList, dict(params), options)

    def cancel(
        self,
        batch_id: str,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Batch:
        """POST /v1/batches/{id}/cancel: pending requests never run; running ones finish. A batch
        that had already finished is answered unchanged."""
        options = request_options(
            idempotency_key=idempotency_key, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
        )
        return self._client._call(RequestSpec("POST", f"{_path(batch_id)}/cancel"), Batch, options)

    def results(
        self,
        batch_id: str,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[BatchResultsParams],
    ) -> SyncPage[BatchResult]:
        """GET /v1/batches/{id}/results in request order: the first page; iterate it for every
        result. `result.endpoint` narrows `result.response` to that endpoint's answer."""
        options = request_options(timeout=timeout, max_retries=max_retries, extra_headers=extra_headers)
        return self._client._page(f"{_path(batch_id)}/results", BatchResultList, dict(params), options)

    def events(
        self,
        batch_id: str,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> BatchEventStream:
        """GET /v1/batches/{id}/events, once the 200 arrived (an unknown id raises NotFoundError
        here): the batch at each change of status or counts; `final()` is the terminal batch."""
        options = request_options(timeout=timeout, max_retries=max_retries, extra_headers=extra_headers)
        spec = RequestSpec("GET", f"{_path(batch_id)}/events", stream=True)
        return self._client._stream(spec, Batch, Batch, BATCH_EVENTS, options)

    def wait_for(
        self,
        batch_id: str,
        *,
        max_wait: float | None = None,
        poll_interval: float = 1.0,
        on_progress: Callable[[Batch], object] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Batch:
        """The batch once it is `completed`, `failed` or `cancelled`. Follows the progress stream;
        if that breaks, polls `get` every `poll_interval` seconds. Past `max_wait` seconds raises
        BatchWaitTimeoutError (the batch goes on running). `on_progress` gets every new state."""
        waiter = BatchWaiter(batch_id, max_wait=max_wait, on_progress=on_progress)
        options = request_options(timeout=timeout, max_retries=max_retries, extra_headers=extra_headers)
        try:
            done = self._follow(waiter, options)
            return done if done is not None else self._poll(waiter, options, poll_interval)
        except BatchWaitTimeoutError:
            raise
        except APIError as exc:  # a request cut short by what was left of the wait
            if waiter.expired():
                raise waiter.timed_out() from exc
            raise

    def _follow(self, waiter: BatchWaiter, options: RequestOptions) -> Batch | None:
        """The terminal batch from the progress stream; None when it broke in a way polling may
        get past. The stream's silence is bounded by what is left of the wait."""
        idle = waiter.clip(options.timeout or self._client.timeout)
        try:
            with self.events(
                waiter.batch_id, timeout=idle, max_retries=options.max_retries, extra_headers=options.extra_headers
            ) as stream:
                for batch in stream:
                    waiter.seen(batch)
                    if waiter.expired():
                        raise waiter.timed_out()
                done = stream.final()
        except _STREAM_BROKEN:
            if waiter.expired():
                raise
            return None
        waiter.seen(done)
        return done

    def _poll(self, waiter: BatchWaiter, options: RequestOptions, interval: float) -> Batch:
        while True:
            timeout = waiter.clip(options.timeout or self._client.timeout)
            batch = self.get(
                waiter.batch_id, timeout=timeout, max_retries=options.max_retries, extra_headers=options.extra_headers
            )
            waiter.seen(batch)
            if is_terminal_batch(batch):
                return batch
            if waiter.expired():
                raise waiter.timed_out()
            _http.sleep(waiter.clip(interval))


class AsyncBatches(AsyncAPIResource):
    async def create(
        self,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[BatchCreateParams],
    ) -> Batch:
        """POST /v1/batches. Its Idempotency-Key makes a retry (or a repeat with your own key and
        the same body) answer the same batch."""
        options = request_options(
            idempotency_key=idempotency_key, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
        )
        return await self._client._call(RequestSpec("POST", BATCHES, body=dict(params)), Batch, options)

    async def get(
        self,
        batch_id: str,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Batch:
        """GET /v1/batches/{id}: status and counts."""
        options = request_options(timeout=timeout, max_retries=max_retries, extra_headers=extra_headers)
        return await self._client._call(RequestSpec("GET", _path(batch_id)), Batch, options)

    def list(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[BatchListParams],
    ) -> AsyncPaginator[Batch]:
        """GET /v1/batches, newest first: `await` for the first page, `async for` for every batch."""
        options = request_options(timeout=timeout, max_retries=max_retries, extra_headers=extra_headers)

        def first_page() -> Awaitable[AsyncPage[Batch]]:
            return self._client._page(BATCHES, BatchList, dict(params), options)

        return AsyncPaginator(first_page)

    async def cancel(
        self,
        batch_id: str,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Batch:
        """POST /v1/batches/{id}/cancel: pending requests never run; running ones finish. A batch
        that had already finished is answered unchanged."""
        options = request_options(
            idempotency_key=idempotency_key, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
        )
        return await self._client._call(RequestSpec("POST", f"{_path(batch_id)}/cancel"), Batch, options)

    def results(
        self,
        batch_id: str,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[BatchResultsParams],
    ) -> AsyncPaginator[BatchResult]:
        """GET /v1/batches/{id}/results in request order: `await` for the first page, `async for`
        for every result. `result.endpoint` narrows `result.response` to that endpoint's answer."""
        options = request_options(timeout=timeout, max_retries=max_retries, extra_headers=extra_headers)

        def first_page() -> Awaitable[AsyncPage[BatchResult]]:
            return self._client._page(f"{_path(batch_id)}/results", BatchResultList, dict(params), options)

        return AsyncPaginator(first_page)

    async def events(
        self,
        batch_id: str,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncBatchEventStream:
        """GET /v1/batches/{id}/events, once the 200 arrived (an unknown id raises NotFoundError
        here): the batch at each change of status or counts; `final()` is the terminal batch."""
        options = request_options(timeout=timeout, max_retries=max_retries, extra_headers=extra_headers)
        spec = RequestSpec("GET", f"{_path(batch_id)}/events", stream=True)
        return await self._client._stream(spec, Batch, Batch, BATCH_EVENTS, options)

    async def wait_for(
        self,
        batch_id: str,
        *,
        max_wait: float | None = None,
        poll_interval: float = 1.0,
        on_progress: Callable[[Batch], object] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Batch:
        """The batch once it is `completed`, `failed` or `cancelled`. Follows the progress stream;
        if that breaks, polls `get` every `poll_interval` seconds. Past `max_wait` seconds raises
        BatchWaitTimeoutError (the batch goes on running). `on_progress` gets every new state."""
        waiter = BatchWaiter(batch_id, max_wait=max_wait, on_progress=on_progress)
        options = request_options(timeout=timeout, max_retries=max_retries, extra_headers=extra_headers)
        try:
            return await asyncio.wait_for(self._wait(waiter, options, poll_interval), timeout=max_wait)
        except asyncio.TimeoutError as exc:
            raise waiter.timed_out() from exc

    async def _wait(self, waiter: BatchWaiter, options: RequestOptions, interval: float) -> Batch:
        done = await self._follow(waiter, options)
        return done if done is not None else await self._poll(waiter, options, interval)

    async def _follow(self, waiter: BatchWaiter, options: RequestOptions) -> Batch | None:
        try:
            async with await self.events(
                waiter.batch_id,
                timeout=options.timeout,
                max_retries=options.max_retries,
                extra_headers=options.extra_headers,
            ) as stream:
                async for batch in stream:
                    waiter.seen(batch)
                done = await stream.final()
        except _STREAM_BROKEN:
            return None
        waiter.seen(done)
        return done

    async def _poll(self, waiter: BatchWaiter, options: RequestOptions, interval: float) -> Batch:
        while True:
            batch = await self.get(
                waiter.batch_id,
                timeout=options.timeout,
                max_retries=options.max_retries,
                extra_headers=options.extra_headers,
            )
            waiter.seen(batch)
            if is_terminal_batch(batch):
                return batch
            await _http.async_sleep(interval)
