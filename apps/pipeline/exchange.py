"""The request pipeline: one `Exchange` per request, whichever door it came through.

A door (apps/pipeline/http.py for JSON and Server-Sent Events, websocket.py, batch_item.py) turns
bytes into an exchange and writes the exchange's reply back out. Everything in between happens
here, in this order, for every door:

1. facts         request id, the token presented, the client's address, when it started
2. authenticate  the bearer token, from the in-process token cache (the database only on a miss);
                 never refuses yet, so that failed attempts are counted too
3. count         against the token's limit, or the client IP's without a valid token
4. admit         503 when the token could not be checked, 429 over the limit, 401 without a
                 valid token, 413 over the body limit
5. idempotency   a POST with an Idempotency-Key holds the key, or is answered right here from
                 the stored reply (a replay), 409 (still running) or 422 (another body)
6. execute       the door's work: the endpoint validates, runs its service, reports its charge
7. settle        a success's charge and the key's completion (or the batch item's final state)
                 commit in ONE transaction (settlement.py); a failure releases the key
8. log           one request-log row, the metrics, the token's last-used mark (log.py)
9. shape         data, an error, or events, in the door's shape (shapes.py): the envelope as JSON
                 or SSE, WebSocket frames, a batch item's result

A streamed answer runs steps 7-8 when the stream ends, however it ends: completed, failed after
the first event (an `error` event, never a silent truncation), stopped by the client (the tokens
produced are charged), or cut by a disconnect. Exceptions become errors of the closed set in
`errors.error_for`, called from here only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from apps.backends.base import Usage
from apps.core.db import database_down, db_call
from apps.core.errors import (
    ApiError,
    AuthenticationRequired,
    InternalError,
    InvalidToken,
    PayloadTooLarge,
    ServiceUnavailable,
)
from apps.customers.principal import Principal
from apps.customers.services import token_authenticate_async
from apps.idempotency.services import (
    KeyHold,
    StoredResponse,
    idempotency_begin,
    idempotency_key_validate,
    idempotency_release,
    request_fingerprint,
)
from apps.ratelimits.headers import rate_limit_headers
from apps.ratelimits.limiter import RateLimitState, anonymous_limit_key, rate_limit_consume, rate_limit_enforce

from .errors import error_for, is_unexpected
from .event_streams import EventSource, with_pings
from .facts import RequestFacts
from .log import log_request
from .settlement import Charge, GroupCommit, Settlement, StoredReply, group_commit
from .shapes import Shape

logger = logging.getLogger("apps.pipeline")

CANCELLED = 499  # nginx's "client closed request": a stream the client stopped or walked away from
LAST_EVENTS = ("done", "error")  # a stream's last event, by contract (docs/streaming.md)
MAX_TOKEN_LENGTH = 200
REPLAY_HEADERS = ("Content-Type",)


# --- What a door hands in ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Admission:
    """What the door knows before the steps run."""

    authorization: str | None = None  # the `Authorization` header's value, as presented
    principal: Principal | None = None  # already known: a batch item runs as its batch's token
    counted: bool = True  # counts against a rate limit (a batch item was counted when it was sent)
    count_refusals: bool = False  # uncounted, but a refused token counts against the client IP
    public: bool = False  # needs no token (still counted per client IP)
    body_too_large: bool = False  # the ASGI guard stopped reading the body
    idempotency_key: str | None = None  # a POST's `Idempotency-Key`, unvalidated
    body: Callable[[], bytes] = bytes  # read for the idempotency fingerprint, after the size check


@dataclass(frozen=True, slots=True)
class Data:
    """An answer's `data`, and what producing it cost."""

    data: Any
    charge: Charge | None = None
    status: int = 200


@dataclass(frozen=True, slots=True)
class Events:
    """A streamed answer: the events of `source`; `charge` is filled with its usage at the end."""

    source: EventSource
    charge: Charge | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """A bare body, outside the envelope (the OpenAPI document, ADR 0003)."""

    body: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class Lines:
    """A bare streamed body, outside the envelope (a batch's results as JSON Lines)."""

    chunks: AsyncIterator[str]
    content_type: str


Result = Data | Events | Document | Lines
Work = Callable[["Exchange"], Awaitable[Result]]


# --- What the door writes out -----------------------------------------------------------------


@dataclass(slots=True)
class Reply:
    status: int
    body: Any  # bytes (HTTP), a frame (WebSocket), a dict (a batch item)
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    error: ApiError | None = None
    charge: Charge | None = None  # what was committed with it


@dataclass(slots=True)
class StreamReply:
    status: int
    chunks: AsyncIterator[Any]
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


class Replay(Exception):
    """Step 5 found a completed request with this key and body: answer with its stored reply."""

    def __init__(self, stored: StoredResponse) -> None:
        self.stored = stored


class Exchange:
    def __init__(self, facts: RequestFacts, *, shape: Shape, committer: GroupCommit | None = None) -> None:
        self.facts = facts
        self.shape = shape
        self.committer = committer
        self.rate_limit: RateLimitState | None = None
        self.hold: KeyHold | None = None
        self._stop: asyncio.Event | None = None  # made when a stream starts: most requests have none

    @property
    def request_id(self) -> str:
        return self.facts.request_id

    @property
    def principal(self) -> Principal:
        """The caller; for work that runs after step 4 admitted a token."""
        assert self.facts.principal is not None, "no principal: the door's work ran before admission"
        return self.facts.principal

    async def serve(self, admission: Admission, work: Work) -> Reply | StreamReply:
        """Every step, in order, for one request: the door's whole job is `work` and the reply."""
        try:
            await self.admit(admission)
            result = await work(self)
        except Replay as replay:
            return self._replayed(replay.stored)
        except Exception as exc:
            return await self.failed(exc)
        return await self._succeeded(result)

    def stop(self) -> None:
        """The client asked to stop this request's stream (WebSocket `cancel`): it ends with the
        source's last event, and what it produced is charged."""
        if self._stop is None:
            self._stop = asyncio.Event()
        self._stop.set()

    def headers(self) -> dict[str, str]:
        """The headers of every HTTP answer: the request id and where the caller stands."""
        headers = {"X-Request-Id": self.request_id}
        if self.rate_limit is not None:
            headers.update(rate_limit_headers(self.rate_limit))
        return headers

    # --- steps 2-5 ------------------------------------------------------------------------------

    async def admit(self, admission: Admission) -> None:
        facts = self.facts
        principal, refusal = admission.principal, None
        if principal is None:
            principal, refusal = await _authenticate(admission.authorization, client_ip=facts.client_ip)
        facts.principal = principal
        if admission.counted or (admission.count_refusals and principal is None):
            # A token that could not be checked (the database is down) is no failed guess: not
            # counted against the client IP's budget, where it turned concurrent requests into 429s.
            self.rate_limit = count_request(facts, increment=not isinstance(refusal, ServiceUnavailable))
        if isinstance(refusal, ServiceUnavailable):
            raise refusal  # the token could not be checked: "retry shortly", not a verdict on it
        if self.rate_limit is not None:
            rate_limit_enforce(self.rate_limit)
        if principal is None and not admission.public:
            raise refusal or AuthenticationRequired()
        if admission.body_too_large:
            raise PayloadTooLarge(f"The request body exceeds {settings.API_MAX_BODY_BYTES} bytes.")
        if admission.idempotency_key is not None and principal is not None:
            self.hold = await self._hold_key(admission.idempotency_key, admission.body, principal)

    async def _hold_key(self, raw_key: str, body: Callable[[], bytes], principal: Principal) -> KeyHold:
        key = idempotency_key_validate(raw_key)
        fingerprint = request_fingerprint(method=self.facts.method, path=self.facts.path, body=body())
        outcome = await db_call(
            idempotency_begin,
            customer_id=principal.customer_id,
            key=key,
            fingerprint=fingerprint,
            request_id=self.request_id,
        )
        if isinstance(outcome, StoredResponse):
            raise Replay(outcome)
        return outcome

    # --- steps 7-9 for whole answers ------------------------------------------------------------

    async def _succeeded(self, result: Result) -> Reply | StreamReply:
        if isinstance(result, Events):
            self.facts.stream = True
            return StreamReply(200, self._stream(result.source, result.charge), self.shape.stream_content_type)
        if isinstance(result, Lines):
            return StreamReply(200, self._lines(result.chunks), result.content_type)
        if isinstance(result, Document):
            self.log(status=200)
            return Reply(200, result.body, result.content_type)
        body = self.shape.data(self, result.data)
        stored = StoredReply(result.status, body, {"Content-Type": self.shape.content_type})
        try:
            settled = await self.settle(charge=result.charge, reply=stored)
        except Exception as exc:
            return await self.failed(exc)
        if not settled:
            return await self.failed(InternalError())
        self.log(status=result.status, usage=result.charge.usage if result.charge else None)
        return Reply(result.status, body, self.shape.content_type, charge=result.charge)

    async def failed(self, exc: BaseException) -> Reply:
        """Step 6 or 7 failed: map it, release the key, log, and shape the error."""
        error = self.error(exc)
        await self.release()
        self.log(status=error.status, error=error)
        return Reply(error.status, self.shape.error(self, error), self.shape.content_type, dict(error.headers), error)

    def error(self, exc: BaseException) -> ApiError:
        error = error_for(exc)
        if is_unexpected(exc, error):
            # The traceback goes to the log under the request id; the client gets only the id.
            logger.error("unhandled error request_id=%s", self.request_id, exc_info=exc)
        return error

    async def settle(
        self, *, charge: Charge | None, reply: StoredReply | None, door_write: Callable[[], bool] | None = None
    ) -> bool:
        """Step 7: the charge, the key's completion and the door's own write, in one transaction.
        False: the work was not ours to settle any more (nothing was written)."""
        settlement = Settlement(
            request_id=self.request_id,
            charge=charge,
            hold=self.hold,
            reply=reply if self.hold is not None else None,
            door_write=door_write,
        )
        committer = self.committer or group_commit()
        settled = await committer.settle(settlement)
        self.hold = None  # completed: nothing to release any more
        return settled

    def log(
        self, *, status: int, error: ApiError | None = None, usage: Usage | None = None, replayed: bool = False
    ) -> None:
        """Step 8."""
        log_request(self.facts, status=status, error=error, usage=usage, replayed=replayed)

    async def release(self) -> None:
        """Free the key after a rejection or a failure, so that a retry executes. The database may
        be what failed: then the hold goes stale and a later retry takes it over."""
        hold, self.hold = self.hold, None
        if hold is not None:
            try:
                await db_call(idempotency_release, hold=hold)
            except Exception:
                logger.warning("could not release idempotency key request_id=%s", self.request_id)

    def _replayed(self, stored: StoredResponse) -> Reply | StreamReply:
        self.log(status=stored.status, replayed=True)
        # The body is byte-identical to the original, so its request id is the original's too.
        headers = {"Idempotent-Replayed": "true", "X-Request-Id": stored.request_id}
        if stored.events is not None:  # a streamed request: the same events again
            self.facts.stream = True
            return StreamReply(stored.status, _replayed(stored.events), self.shape.stream_content_type, headers)
        content_type = stored.headers.get("Content-Type", self.shape.content_type)
        return Reply(stored.status, stored.body, content_type, headers)

    # --- steps 7-9 for streams ------------------------------------------------------------------

    async def _stream(self, source: EventSource, charge: Charge | None) -> AsyncIterator[Any]:
        """The last event (`done`, or `error`) goes out only once the stream is settled and logged:
        a client that has it can read its charge and its log row, over a WebSocket too, where no
        end of response follows the last frame (issue 20)."""
        status, error, sent, last = 200, None, list[Any](), None
        if self._stop is None:
            self._stop = asyncio.Event()
        try:
            async for item in with_pings(source, settings.SSE_PING_SECONDS, stop=self._stop):
                if item is None:
                    ping = self.shape.ping()
                    if ping is not None:
                        yield ping
                    continue
                rendered = self.shape.event(self, *item)
                sent.append(rendered)
                if item[0] in LAST_EVENTS:
                    last = rendered
                    continue
                yield rendered
            if self._stop.is_set() and not source.finished:
                status = CANCELLED
                stopped = source.stopped()
                if stopped is not None:
                    last = self.shape.event(self, *stopped)
        except (asyncio.CancelledError, GeneratorExit):
            status = CANCELLED  # the client went away: nothing more can reach it
            raise
        except Exception as exc:
            error = self.error(exc)
            status = error.status
            last = self.shape.error_event(self, error)
        finally:
            # Shielded: a disconnect arriving while we settle must not lose the charge or the log row.
            await asyncio.shield(asyncio.ensure_future(self._stream_ended(source, charge, status, error, sent)))
        if last is not None:
            yield last

    async def _stream_ended(
        self, source: EventSource, charge: Charge | None, status: int, error: ApiError | None, sent: list[Any]
    ) -> None:
        completed = status == 200 and source.finished
        usage = source.usage()
        produced = usage is not None and (completed or (status == CANCELLED and usage.completion_tokens > 0))
        cost = charge.with_usage(usage) if charge is not None and produced and usage is not None else None
        try:
            reply = StoredReply(200, b"", {"Content-Type": self.shape.stream_content_type}, events=sent)
            if completed:
                await self.settle(charge=cost, reply=reply)
            else:
                await self.release()
                await self.settle(charge=cost, reply=None)
        except Exception as exc:
            logger.error("stream settle failed request_id=%s", self.request_id, exc_info=exc)
            status, error = 500, InternalError()
        self.log(status=status, error=error, usage=cost.usage if cost else None)

    async def _lines(self, chunks: AsyncIterator[str]) -> AsyncIterator[str]:
        status = CANCELLED  # until the last line went out: the client went away
        try:
            async for chunk in chunks:
                yield chunk
            status = 200
        finally:
            self.log(status=status)


def count_request(facts: RequestFacts, *, increment: bool = True) -> RateLimitState:
    """Step 3: per token, or per client IP without a valid token (`increment=False`: where the
    caller stands, for the headers, without counting)."""
    if facts.principal is not None:
        key, limit = f"token:{facts.principal.token_id}", facts.principal.requests_per_second
    else:
        key, limit = anonymous_limit_key(facts.client_ip), settings.RATE_LIMIT_ANONYMOUS_PER_SECOND
    return rate_limit_consume(key=key, limit=limit, increment=increment)


async def _authenticate(authorization: str | None, *, client_ip: str) -> tuple[Principal | None, ApiError | None]:
    """Step 2: the principal, or why there is none (raised in step 4, after counting)."""
    if not authorization:
        return None, AuthenticationRequired()
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None, InvalidToken(_scheme_hint(scheme))
    if len(token) > MAX_TOKEN_LENGTH:
        return None, InvalidToken()
    try:
        principal = await token_authenticate_async(presented=token, client_ip=client_ip)
    except Exception as exc:
        if not database_down(exc):
            raise
        return None, error_for(exc)  # an uncached token and no database: counted, then a 503
    return (principal, None) if principal is not None else (None, InvalidToken())


def _scheme_hint(scheme: str) -> str:
    if scheme.lower() == "bearer":
        return "The Authorization header names no token: send 'Authorization: Bearer <token>'."
    if "_" in scheme:  # the token itself, without its scheme
        return "The Authorization header has no 'Bearer ' scheme: send 'Authorization: Bearer <token>'."
    return "Only bearer tokens are accepted: send 'Authorization: Bearer <token>'."


async def _replayed(events: list[str]) -> AsyncIterator[str]:
    for event in events:
        yield event
