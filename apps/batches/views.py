"""`/v1/batches`: a thin async viewset on the pipeline's HTTP door. The exchange does auth, limits,
the Idempotency-Key of every POST and the envelope; each action validates, calls one service in a
worker thread (batches are database work), and serializes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request

from apps.core.db import db_call
from apps.core.errors import InvalidRequest, PayloadTooLarge
from apps.core.pagination import page_limit
from apps.pipeline.exchange import Data, Events, Exchange, Lines
from apps.pipeline.http import PipelineViewSet, route

from . import services
from .models import BatchJob
from .progress import BatchProgress
from .serializers import (
    BatchCreateRequestSerializer,
    BatchListSerializer,
    BatchPageQuerySerializer,
    BatchResultListSerializer,
    BatchSerializer,
)
from .validation import batch_requests_validate

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


class BatchViewSet(PipelineViewSet):
    lookup_field = "batch_id"
    lookup_value_converter = "str"

    @extend_schema(
        operation_id="batches_create",
        summary="Create a batch of completions, chat completions or embeddings",
        request=BatchCreateRequestSerializer,
        responses={201: BatchSerializer},
    )
    async def create(self, request: Request) -> Data:
        if len(request.body) > settings.BATCH_MAX_BYTES:  # read first: DRF parses from the cached body
            raise PayloadTooLarge(f"A batch body may be at most {settings.BATCH_MAX_BYTES} bytes.")
        serializer = BatchCreateRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        hold = self.exchange.hold
        batch = await db_call(
            _create,
            principal=self.principal,
            requests=serializer.validated_data["requests"],
            metadata=serializer.validated_data.get("metadata", {}),
            idempotency_record_id=hold.record_id if hold is not None else None,
        )
        return Data(BatchSerializer(batch).data, status=201)

    @extend_schema(
        operation_id="batches_list",
        summary="List the batches of the calling customer, newest first",
        parameters=[BatchPageQuerySerializer],
        responses={200: BatchListSerializer},
    )
    async def list(self, request: Request) -> Data:
        cursor, limit = request.query_params.get("cursor"), page_limit(request.query_params.get("limit"))
        page = await db_call(services.batch_list, customer_id=self.principal.customer_id, cursor=cursor, limit=limit)
        return Data(BatchListSerializer(page).data)

    @extend_schema(
        operation_id="batches_retrieve", summary="A batch: status and counts", responses={200: BatchSerializer}
    )
    async def retrieve(self, request: Request, batch_id: str) -> Data:
        return Data(BatchSerializer(await self._batch(batch_id)).data)

    @extend_schema(
        operation_id="batches_cancel",
        summary="Cancel a batch: pending requests are not run; running ones finish",
        request=None,
        responses={200: BatchSerializer},
    )
    @route(detail=True, methods=["post"], url_path="cancel", url_name="cancel")
    async def cancel(self, request: Request, batch_id: str) -> Data:
        batch = await db_call(services.batch_cancel, customer_id=self.principal.customer_id, public_id=batch_id)
        return Data(BatchSerializer(batch).data)

    @extend_schema(
        operation_id="batches_results",
        summary="The results of a batch, in request order",
        parameters=[BatchPageQuerySerializer],
        responses={(200, "application/json"): BatchResultListSerializer, (200, NDJSON): NDJSON_RESPONSE},
    )
    @route(detail=True, methods=["get"], url_path="results", url_name="results")
    async def results(self, request: Request, batch_id: str) -> Data | Lines:
        batch = await self._batch(batch_id)
        # The exchange always answers JSON (no 406), so the alternative is chosen here, by hand.
        if NDJSON in request.META.get("HTTP_ACCEPT", ""):
            return Lines(_json_lines(batch), NDJSON)
        cursor, limit = request.query_params.get("cursor"), page_limit(request.query_params.get("limit"))
        page = await db_call(services.batch_results_page, batch=batch, cursor=cursor, limit=limit)
        return Data(BatchResultListSerializer(page).data)

    @extend_schema(
        operation_id="batches_events",
        summary="Follow a batch's progress as Server-Sent Events",
        responses={(200, "text/event-stream"): EVENTS_RESPONSE},
    )
    @route(detail=True, methods=["get"], url_path="events", url_name="events")
    async def events(self, request: Request, batch_id: str) -> Events:
        progress = await BatchProgress.start(public_id=batch_id, customer_id=self.principal.customer_id)  # 404 first
        return Events(progress)

    async def _batch(self, batch_id: str) -> BatchJob:
        return await db_call(services.batch_get, customer_id=self.principal.customer_id, public_id=batch_id)


def _create(*, principal: Any, requests: list[dict[str, Any]], metadata: dict[str, str], **kwargs: Any) -> BatchJob:
    """Validation reads the model catalog (maybe the database): one worker-thread call for both."""
    items = batch_requests_validate(principal=principal, requests=requests)
    return services.batch_create(principal=principal, items=items, metadata=metadata, **kwargs)


async def _json_lines(batch: BatchJob) -> AsyncIterator[str]:
    chunks = services.batch_results_chunks(batch=batch)
    while (chunk := await db_call(_next_chunk, chunks)) is not None:
        yield "".join(json.dumps(result, separators=(",", ":")) + "\n" for result in chunk)


def _next_chunk(chunks: Iterator[list[dict[str, Any]]]) -> list[dict[str, Any]] | None:
    return next(chunks, None)


async def batch_subscribe(exchange: Exchange, message: dict[str, Any]) -> Events:
    """The WebSocket door's `{"type": "batch.subscribe", "batch_id": …}`: the SSE `/events` of one
    of the caller's batches, as frames."""
    batch_id = message.get("batch_id")
    if not isinstance(batch_id, str) or not 1 <= len(batch_id) <= 64:
        raise InvalidRequest("`batch_id` must be the id of one of your batches.", param="batch_id")
    return Events(await BatchProgress.start(public_id=batch_id, customer_id=exchange.principal.customer_id))
