"""One upstream call through a pool: lease a replica, report how it went, retry once before the first token.

A failure that is the replica's fault (`replica_fault`: refused or dropped connections, timeouts,
5xx and 429 answers, garbage, a stream that ends unfinished) ejects it (`upstream_pool`) and, when
nothing has reached the client yet, is retried once on another healthy replica. For a stream that
point is its first event: the views wait for it before they answer (apps/inference/streaming.py), so
a stream that fails before its first token is retried, and one that fails after it is not (the
client already has part of an answer; a second generation would not continue it). A 4xx answer is
about the request (too long, bad parameter) or our configuration (key, model name), the same on
every replica: passed on as is, neither retried nor held against the replica.

These wrappers know nothing about HTTP: they take a function that makes one call to a replica's
root URL, so the backend can change how it talks to the upstream without touching routing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable

import aiohttp

from apps.backends.upstream_errors import UpstreamStatus
from apps.backends.upstream_pool import Lease, NoReplica, Replica, UpstreamPool
from apps.core.errors import ApiError, InvalidRequest, ModelOverloaded

MAX_ATTEMPTS = 2  # the first try and one retry on another replica
NOT_A_REPLICA_FAULT = frozenset({400, 401, 403, 404, 405, 409, 413, 415, 422})


def replica_fault(exc: BaseException) -> str | None:
    """Why `exc` counts against the replica that raised it (a few words for the admin), or None."""
    if not isinstance(exc, ApiError) or isinstance(exc, InvalidRequest):
        return None  # cancellation, our own bugs, the caller's request
    cause = exc.__cause__
    if isinstance(cause, UpstreamStatus):
        return None if cause.status in NOT_A_REPLICA_FAULT else f"HTTP {cause.status}"
    if isinstance(cause, TimeoutError):
        return "timed out"
    if isinstance(cause, aiohttp.ClientConnectorError):
        return "connect failed"
    if isinstance(cause, aiohttp.ClientError):
        return "connection dropped"
    return exc.message[:80]


async def call_with_failover[T](pool: UpstreamPool, send: Callable[[str], Awaitable[T]], *, judged: bool = True) -> T:
    """`send(replica_url)` on the pool's choice. Unless `judged` is False (side calls such as
    `/tokenize`, which some servers lack), the outcome counts for the replica's health and a
    replica fault is retried once elsewhere."""
    lease, tried = pool.lease(), list[Replica]()
    while True:
        try:
            result = await send(lease.url)
        except ApiError as exc:
            lease.release()
            retry = _after_failure(pool, lease, exc, tried) if judged else None
            if retry is None:
                raise
            lease = retry
            continue
        except BaseException:
            lease.release()
            raise
        lease.release()
        if judged:
            lease.succeeded()
        return result


async def stream_with_failover[E](
    pool: UpstreamPool, open_stream: Callable[[str], AsyncGenerator[E]]
) -> AsyncGenerator[E]:
    """The events of `open_stream(replica_url)`; the replica stays leased (in flight) until the
    stream ends or is closed. Retried once elsewhere only while no event has been received."""
    lease, tried = pool.lease(), list[Replica]()
    while True:
        stream = open_stream(lease.url)
        try:
            first = await anext(stream)
        except StopAsyncIteration:
            lease.release()
            lease.succeeded()
            return
        except ApiError as exc:
            lease.release()
            await stream.aclose()
            retry = _after_failure(pool, lease, exc, tried)
            if retry is None:
                raise
            lease = retry
            continue
        except BaseException:
            lease.release()
            await stream.aclose()
            raise
        break
    lease.succeeded()
    try:
        yield first
        async for event in stream:
            yield event
    except ApiError as exc:
        reason = replica_fault(exc)
        if reason is not None:
            lease.failed(reason)  # ejected, but not retried: the client has part of this answer
        raise
    finally:
        lease.release()
        with contextlib.suppress(Exception):
            await stream.aclose()


def _after_failure(pool: UpstreamPool, lease: Lease, exc: ApiError, tried: list[Replica]) -> Lease | None:
    """Report a failed attempt; the lease for a retry, or None when the error should stand."""
    reason = replica_fault(exc)
    if reason is None:
        return None
    lease.failed(reason)
    tried.append(lease.replica)
    if len(tried) >= MAX_ATTEMPTS:
        return None
    try:
        return pool.lease(avoid=tried)
    except (NoReplica, ModelOverloaded):
        return None  # nowhere else to go: the replica's own error is the truest answer
