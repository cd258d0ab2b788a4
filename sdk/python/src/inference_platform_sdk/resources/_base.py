"""What every resource shares: its client, and the per-call options every method takes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._http import RequestOptions

if TYPE_CHECKING:
    from .._client import AsyncClient, Client


class SyncAPIResource:
    """A namespace of the API (`client.models`, …): methods that map one-to-one to endpoints."""

    def __init__(self, client: Client) -> None:
        self._client = client


class AsyncAPIResource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client


def request_options(
    *,
    idempotency_key: str | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> RequestOptions:
    return RequestOptions(
        idempotency_key=idempotency_key, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
    )


def generation_body(params: Mapping[str, Any], *, stream: bool, method: str) -> dict[str, Any]:
    """The body of a completion or chat call: `stream` is chosen by the method, not by a flag."""
    if "stream" in params:
        other = method.removesuffix("_stream") if stream else f"{method}_stream"
        raise TypeError(f"{method}() sets `stream` itself; for the other kind of answer call {other}().")
    return {**params, "stream": stream}
