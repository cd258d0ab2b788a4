"""Server-Sent Events for `"stream": true` (DESIGN §3.5, ADR 0004).

A DRF view returns a `StreamingHttpResponse` over `sse_events()`, so a stream passes through the
same pipeline as any request: auth, limits and the idempotency claim happen before the 200, whose
headers carry the request id and rate-limit state. Then:
- each generated piece is a `chunk` event; the last event is `done` (finish reason and usage) or
  `error` (a failure after the 200 can only be an event, never a silent truncation);
- a `: ping` comment goes out after SSE_PING_SECONDS of silence, so proxies keep the stream open;
- when the client disconnects, uvicorn cancels this generator; closing the backend stream closes the
  upstream request, so the engine stops within a token; the tokens produced are charged and the
  request is logged as cancelled (status 499, nginx's "client closed request");
- a completed stream's charge and its idempotency key (with every event, for replays) commit in one
  transaction; an error or a cancellation releases the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.http import StreamingHttpResponse

from apps.api.request_facts import RequestFacts, log_request
from apps.api.settlement import settle_success
from apps.backends.base import StreamEnd, StreamEvent, TextDelta, Usage
from apps.core.db import db_call
from apps.core.envelope import failure, success
from apps.core.errors import ApiError, InternalError
from apps.core.exception_handler import as_api_error
from apps.idempotency.services import Claim, idempotency_release
from apps.usage.charges import Charge

from .services import usage_dict

logger = logging.getLogger(__name__)

CANCELLED_STATUS = 499
PING = ": ping\n\n"


@dataclass
class StreamOutcome:
    events: list[str] = field(default_factory=list)  # SSE text of every event, for replays
    deltas: int = 0
    status: int = 200
    error: ApiError | None = None
    usage: Usage | None = None  # set by the `done` event


@dataclass(frozen=True, slots=True)
class StreamContext:
    """What a stream needs from the request that started it, whatever its transport."""

    facts: RequestFacts
    charge: Charge  # the stream's cost with zero usage; the real usage is filled in at the end
    claim: Claim | None = None


Event = tuple[str, dict[str, Any]]  # ("chunk" | "done" | "error", envelope)


def sse(event: str, payload: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(payload, separators=(',', ':'), default=str)}\n\n"


def sse_response(events: AsyncIterator[str]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a proxy must not buffer a stream
    return response


async def sse_events(context: StreamContext, generation: AsyncIterator[StreamEvent]) -> AsyncIterator[str]:
    async for event in stream_events(context, generation):
        yield PING if event is None else sse(*event)


async def stream_events(context: StreamContext, generation: AsyncIterator[StreamEvent]) -> AsyncIterator[Event | None]:
    """Envelopes for one generation: chunk… then done, or error; None stands for a ping.
    Charges, completes or releases the idempotency key, and logs, when the stream ends."""
    outcome = StreamOutcome()
    request_id = context.facts.request_id
    try:
        async for item in with_pings(generation, settings.SSE_PING_SECONDS):
            event = None if item is None else _event(item, outcome, request_id)
            if event is not None:
                outcome.events.append(sse(*event))
            yield event
    except (asyncio.CancelledError, GeneratorExit):
        outcome.status = CANCELLED_STATUS
        raise
    except Exception as exc:
        outcome.error = as_api_error(exc)
        if not isinstance(exc, ApiError):
            logger.exception("stream failed request_id=%s", request_id)
        outcome.status = outcome.error.status
        yield "error", failure(outcome.error.as_dict(), request_id=request_id)
    finally:
        # Shielded: a disconnect arriving while we settle must not lose the charge or the log row.
        await asyncio.shield(asyncio.ensure_future(_finish(context, outcome)))


async def started(generation: AsyncIterator[StreamEvent]) -> AsyncIterator[StreamEvent]:
    """Waits for the first item before answering, so that failures before any token (prompt too
    long, model overloaded, engine down) are proper HTTP errors, not an error event after a 200."""
    iterator = aiter(generation)
    first = await anext(iterator)

    async def chained() -> AsyncIterator[StreamEvent]:
        try:
            yield first
            async for item in iterator:
                yield item
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()

    return chained()


def _event(item: StreamEvent, outcome: StreamOutcome, request_id: str) -> Event:
    if isinstance(item, TextDelta):
        outcome.deltas += 1
        return "chunk", success({"index": 0, "delta": item.text}, request_id=request_id)
    assert isinstance(item, StreamEnd)
    outcome.usage = item.usage
    done = {"finish_reason": item.finish_reason, "usage": usage_dict(item.usage)}
    return "done", success(done, request_id=request_id)


async def with_pings[T](items: AsyncIterator[T], interval: float) -> AsyncGenerator[T | None]:
    """The items, and None whenever `interval` seconds pass without one (a ping: proxies close
    silent streams). Closing this closes `items` too, which stops an engine's generation."""
    iterator = aiter(items)
    pending: asyncio.Future[T] | None = None
    try:
        while True:
            pending = pending or asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield None
                continue
            finished, pending = pending, None
            try:
                item = finished.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


async def _finish(context: StreamContext, outcome: StreamOutcome) -> None:
    claim, charge = context.claim, context.charge
    completed = outcome.status == 200 and outcome.usage is not None
    usage = outcome.usage or Usage(prompt_tokens=0, completion_tokens=outcome.deltas)
    charged = completed or (outcome.status == CANCELLED_STATUS and outcome.deltas > 0)
    try:
        await db_call(
            settle_success,
            request_id=context.facts.request_id,
            charge=replace(charge, usage=usage) if charged else None,
            claim=claim if completed else None,
            status=200,
            body=b"",
            headers={"Content-Type": "text/event-stream"},
            events=outcome.events if completed else None,
        )
        if claim is not None and not completed:
            await db_call(idempotency_release, claim=claim)
    except Exception:
        outcome.status, outcome.error = 500, InternalError()
    log_request(
        context.facts, status=outcome.status, error=outcome.error, usage=usage if charged else None, stream=True
    )
