"""GET /v1/usage: the calling customer's tokens per UTC day and model."""

from __future__ import annotations

from collections.abc import Mapping

from typing_extensions import Unpack

from .._http import RequestSpec
from ..types import UsageParams, UsageReport
from ._base import AsyncAPIResource, SyncAPIResource, request_options

USAGE = "/v1/usage"


class Usage(SyncAPIResource):
    def get(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[UsageParams],
    ) -> UsageReport:
        """`start` and `end` are ISO dates (`"2026-03-15"`), both included; default: the last 30 days."""
        options = request_options(timeout=timeout, max_retries=max_retries, extra_headers=extra_headers)
        return self._client._call(RequestSpec("GET", USAGE, query=dict(params)), UsageReport, options)


class AsyncUsage(AsyncAPIResource):
    async def get(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[UsageParams],
    ) -> UsageReport:
        """`start` and `end` are ISO dates (`"2026-03-15"`), both included; default: the last 30 days."""
        options = request_options(timeout=timeout, max_retries=max_retries, extra_headers=extra_headers)
        return await self._client._call(RequestSpec("GET", USAGE, query=dict(params)), UsageReport, options)
