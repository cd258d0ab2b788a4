"""Thin endpoints for `/v1/batches`: validate, call one service, serialize. The pipeline
(apps/api/pipeline.py) does auth, limits, the Idempotency-Key claim of every POST and the envelope."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from apps.api.pipeline import ApiView
from apps.api.request import ApiRequest
from apps.api.request_facts import log_request
from apps.core.envelope import failure, success
from apps.core.errors import ApiError, PayloadTooLarge
from apps.core.exception_handler import as_api_error
from apps.core.pagination import page_limit
from apps.inference.streaming import PING, sse, sse_response, with_pings

from . import services
from .models import BatchJob
from .progress import batch_progress_events
from .serializers import (
    BatchCreateRequestSerializer,
    BatchListSerializer,
    BatchPageQuerySerializer,
    BatchResultListSerializer,
    BatchSerializer,
)
from .validation import batch_requests_validate

logger = logging.getLogger(__name__)

NDJSON = "application/x-ndjson"

NDJSON_RESPONSE = OpenApiResponse(
    response=OpenApiTypes.STR,
    description=f"With `Accept: {NDJSON}`: every result as JSON Lines, one `BatchResult` per line, in order.",
)
EVENTS_RESPONSE = OpenApiResponse(
    response=OpenApiTypes.STR,
    description=(
        "Server-Sent Events: `event: progress` with a `BatchEnvelope` whenever status or counts change, "
        "then `event: done` with the terminal `BatchEnvelope`. `: ping` lines keep idle streams open."
    ),
)


class BatchListView(ApiView):
    @extend_schema(
        operation_id="batches_create",
        summary="Create a batch of completions, chat completions or embeddings",
        request=BatchCreateRequestSerializer,
        responses={201: BatchSerializer},
    )
    def post(self, request: ApiRequest) -> Response:
        if len(request.body) > settings.BATCH_MAX_BYTES:  # read first: DRF parses from the cached body
            raise PayloadTooLarge(f"A batch body may be at most {settings.BATCH_MAX_BYTES} bytes.")
        serializer = BatchCreateRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = batch_requests_validate(principal=request.principal, requests=serializer.validated_data["requests"])
        claim = request.idempotency_claim
        batch = services.batch_create(
            principal=request.principal,
            items=items,
            metadata=serializer.validated_data.get("metadata", {}),
            idempotency_record_id=claim.record_id if claim is not None else None,
        )
        return Response(BatchSerializer(batch).data, status=201)

    @extend_schema(
        operation_id="batches_list",
        summary="List the batches of the calling customer, newest first",
        parameters=[BatchPageQuerySerializer],
        responses={200: BatchListSerializer},
    )
    def get(self, request: ApiRequest) -> Response:
        page = services.batch_list(
            customer_id=request.principal.customer_id,
            cursor=request.query_params.get("cursor"),
            limit=page_limit(request.query_params.get("limit")),
        )
        return Response(BatchListSerializer(page).data)


class BatchDetailView(ApiView):
    @extend_schema(
        operation_id="batches_retrieve", summary="A batch: status and counts", responses={200: BatchSerializer}
    )
    def get(self, request: ApiRequest, batch_id: str) -> Response:
        batch = services.batch_get(customer_id=request.principal.customer_id, public_id=batch_id)
        return Response(BatchSerializer(batch).data)


class BatchCancelView(ApiView):
    @extend_schema(
        operation_id="batches_cancel",
        summary="Cancel a batch: pending requests are not run; running ones finish",
        request=None,
        responses={200: BatchSerializer},
    )
    def post(self, request: ApiRequest, batch_id: str) -> Response:
        batch = services.batch_cancel(customer_id=request.principal.customer_id, public_id=batch_id)
        return Response(BatchSerializer(batch).data)


class BatchResultsView(ApiView):
    @extend_schema(
        operation_id="batches_results",
        summary="The results of a batch, in request order",
        parameters=[BatchPageQuerySerializer],
        responses={(200, "application/json"): BatchResultListSerializer, (200, NDJSON): NDJSON_RESPONSE},
    )
    def get(self, request: ApiRequest, batch_id: str) -> Response | StreamingHttpResponse:
        batch = services.batch_get(customer_id=request.principal.customer_id, public_id=batch_id)
        # The pipeline always renders JSON (no 406), so the alternative is chosen here, by hand.
        if NDJSON in request.META.get("HTTP_ACCEPT", ""):
            return StreamingHttpResponse(_json_lines(request, batch), content_type=NDJSON)
        cursor, limit = request.query_params.get("cursor"), page_limit(request.query_params.get("limit"))
        page = services.batch_results_page(batch=batch, cursor=cursor, limit=limit)
        return Response(BatchResultListSerializer(page).data)


class BatchEventsView(ApiView):
    @extend_schema(
        operation_id="batches_events",
        summary="Follow a batch's progress as Server-Sent Events",
        responses={(200, "text/event-stream"): EVENTS_RESPONSE},
    )
    def get(self, request: ApiRequest, batch_id: str) -> StreamingHttpResponse:
        batch = services.batch_get(customer_id=request.principal.customer_id, public_id=batch_id)  # 404 first
        return sse_response(_progress_events(request, batch))


async def _json_lines(request: ApiRequest, batch: BatchJob) -> AsyncIterator[str]:
    chunks = services.batch_results_chunks(batch=batch)
    next_chunk = sync_to_async(_next_chunk, thread_sensitive=False)
    status = 499  # until the last line went out: the client went away
    try:
        while (chunk := await next_chunk(chunks)) is not None:
            yield "".join(json.dumps(result, separators=(",", ":")) + "\n" for result in chunk)
        status = 200
    finally:
        await _log(request, status)


def _next_chunk(chunks: Iterator[list[dict[str, Any]]]) -> list[dict[str, Any]] | None:
    try:
        return next(chunks, None)
    finally:
        close_old_connections()  # a pool thread, not a request: release the connection now


async def _progress_events(request: ApiRequest, batch: BatchJob) -> AsyncIterator[str]:
    events = with_pings(
        batch_progress_events(public_id=batch.public_id, customer_id=batch.customer_id), settings.SSE_PING_SECONDS
    )
    status = 499
    try:
        async for item in events:
            yield PING if item is None else sse(item["event"], success(item["data"], request_id=request.request_id))
        status = 200
    except Exception as exc:  # after the 200: the stream's own `error` event, as for completions
        error = as_api_error(exc)
        if not isinstance(exc, ApiError):
            logger.exception("batch events failed request_id=%s", request.request_id)
        status = error.status
        yield sse("error", failure(error.as_dict(), request_id=request.request_id))
    finally:
        await events.aclose()
        await _log(request, status)


async def _log(request: ApiRequest, status: int) -> None:
    # A streamed response is logged when it ends (the pipeline skips it), with its real outcome.
    await sync_to_async(log_request, thread_sensitive=False)(request.facts, status=status, stream=True)
