"""The soak's traffic: scenario loops that run side by side until a deadline, each recording every
answer (status, request id, rate-limit numbers, timing) for the invariant checks.

reader     GET /v1/models, /v1/models/{id}, /v1/usage
inference  chat, completions and embeddings on the fake backend
stream     SSE chat streams (fake backend, a few ms per token), read to the end
retry      Idempotency-Key retries: the same request 3x at once, then once more later; every 5th
           key also once with another body (a 422)
burst      twice its limit of requests at the start of a second, every other second
sustained  far above its limit all the time: several clients, each sending as soon as answered
real       now and then a chat on the real local model and embeddings on the real local model
anonymous  requests without a token or with a wrong one (per-IP limit, aggregated log rows)
batch      small batches, if this build serves /v1/batches

Before the scenarios start, every token is used once (`warm_up`): a token never used anywhere is
refused unread while its address is over the per-IP budget of failures, by design
(docs/reliability.md, "Guessing"), and the anonymous scenario keeps that budget spent half of every
second. The check would count such a refusal as a customer's request logged as scanner noise.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

CHAT_BODY = {"model": "fake-chat", "messages": [{"role": "user", "content": "soak test message"}], "max_tokens": 8}
# Idle connections are dropped by the client before uvicorn's keep-alive timeout (5 s) closes them:
# a request sent on a connection the server is closing at that moment fails in transport
# (ReadError, RemoteProtocolError), a race of the client's, not an answer of the server's.
KEEPALIVE_EXPIRY_S = 2.0
CONCURRENCY = {
    "reader": 3, "inference": 3, "stream": 2, "retry": 2, "burst": 1, "sustained": 6, "real": 1, "anonymous": 1,
    "batch": 1,
}  # fmt: skip


@dataclass
class Record:
    scenario: str
    kind: str
    token: str | None  # the scenario whose token was used; None: no valid token
    path: str
    sent: float
    received: float
    status: int  # 0: no HTTP answer (a transport error)
    request_id: str = ""
    replayed: bool = False
    limit: int | None = None
    remaining: int | None = None
    key: str = ""  # Idempotency-Key
    body: bytes = b""  # kept for idempotent requests, to compare replays
    executed: bool = False  # a charged execution: a first 2xx inference answer, or a stream that ended with `done`
    error_code: str = ""


@dataclass
class Traffic:
    client: httpx.AsyncClient
    tokens: dict[str, str]
    limits: dict[str, int]
    deadline: float
    real_models: bool
    records: list[Record] = field(default_factory=list)
    batches: list[str] = field(default_factory=list)
    batches_served: bool | None = None  # None until probed
    _keys: Iterator[int] = field(default_factory=itertools.count)

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    async def call(self, scenario: str, kind: str, method: str, path: str, **options: Any) -> Record:
        token, key = options.pop("token", scenario), options.get("headers", {}).get("Idempotency-Key", "")
        headers = {**options.pop("headers", {}), **self._auth(token)}
        record = Record(scenario, kind, token if token in self.tokens else None, path, time.time(), 0.0, 0, key=key)
        try:
            response = await self.client.request(method, path, headers=headers, **options)
        except httpx.HTTPError as error:
            record.received, record.error_code = time.time(), type(error).__name__
        else:
            record.received = time.time()
            _fill(record, response, response.content)
            record.executed = kind in INFERENCE and 200 <= response.status_code < 300 and not record.replayed
        self.records.append(record)
        return record

    async def stream(self, scenario: str, path: str, body: dict[str, Any]) -> Record:
        record = Record(scenario, "stream", scenario, path, time.time(), 0.0, 0)
        try:
            async with self.client.stream("POST", path, json=body, headers=self._auth(scenario)) as response:
                events = [line async for line in response.aiter_lines() if line.startswith("event: ")]
                _fill(record, response, b"")
                record.executed = response.status_code == 200 and events[-1:] == ["event: done"]
        except httpx.HTTPError as error:
            record.error_code = type(error).__name__
        record.received = time.time()
        self.records.append(record)
        return record

    def next_key(self) -> str:
        return f"soak-{next(self._keys)}"

    def _auth(self, token: str | None) -> dict[str, str]:
        """A scenario's token by its name, a literal (wrong) token, or no header for None."""
        if token is None:
            return {}
        return {"Authorization": f"Bearer {self.tokens.get(token, token)}"}


INFERENCE = {"chat", "completion", "embed", "retry", "real-chat", "real-embed"}


def _fill(record: Record, response: httpx.Response, body: bytes) -> None:
    headers = response.headers
    record.status = response.status_code
    record.request_id = headers.get("X-Request-Id", "")
    record.replayed = headers.get("Idempotent-Replayed") == "true"
    record.limit = _int(headers.get("X-RateLimit-Limit"))
    record.remaining = _int(headers.get("X-RateLimit-Remaining"))
    record.body = body if record.key else b""
    if response.status_code >= 400 and body:
        try:
            record.error_code = json.loads(body)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            record.error_code = "not-an-envelope"


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


# --- Scenarios ----------------------------------------------------------------------------------


async def reader(t: Traffic) -> None:
    paths = itertools.cycle(["/v1/models", "/v1/models/fake-chat", "/v1/usage", "/v1/models?limit=1"])
    while t.running():
        await t.call("reader", "read", "GET", next(paths))


async def inference(t: Traffic) -> None:
    calls = itertools.cycle(
        [
            ("chat", "/v1/chat/completions", CHAT_BODY),
            ("completion", "/v1/completions", {"model": "fake-chat", "prompt": "soak prompt", "max_tokens": 8}),
            ("embed", "/v1/embeddings", {"model": "fake-embed", "input": ["soak one", "soak two"]}),
        ]
    )
    while t.running():
        kind, path, body = next(calls)
        await t.call("inference", kind, "POST", path, json=body)


async def stream(t: Traffic) -> None:
    body = {**CHAT_BODY, "model": "fake-stream", "stream": True, "max_tokens": 20}
    while t.running():
        await t.stream("stream", "/v1/chat/completions", body)


async def retry(t: Traffic) -> None:
    for n in itertools.count():
        if not t.running():
            return
        key = t.next_key()
        body = {"model": "fake-chat", "prompt": f"retry {n}", "max_tokens": 4}
        await asyncio.gather(*(_keyed(t, key, body) for _ in range(3)))  # a client retrying too fast
        await _keyed(t, key, body)  # a late retry: a replay
        if n % 5 == 0:
            await _keyed(t, key, {**body, "prompt": "another body"})  # 422


async def _keyed(t: Traffic, key: str, body: dict[str, Any]) -> None:
    for _ in range(20):  # a 409 (still in progress) says when to come back
        record = await t.call("retry", "retry", "POST", "/v1/completions", json=body, headers={"Idempotency-Key": key})
        if record.status != 409:
            return
        await asyncio.sleep(0.05)


async def burst(t: Traffic) -> None:
    size = 2 * t.limits["burst"]
    while t.running():
        await asyncio.sleep(1.02 - time.time() % 1)  # just after a second starts
        await asyncio.gather(*(t.call("burst", "burst", "GET", "/v1/models") for _ in range(size)))
        await asyncio.sleep(1.0)


async def sustained(t: Traffic) -> None:
    while t.running():
        await t.call("sustained", "sustained", "GET", "/v1/models")


async def real(t: Traffic) -> None:
    if not t.real_models:
        return
    chat = {"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 8}
    embed = {"model": "all-minilm-l6-v2", "input": ["a short sentence", "another one"]}
    while t.running():
        await t.call("real", "real-chat", "POST", "/v1/chat/completions", json=chat, timeout=60)
        await t.call("real", "real-embed", "POST", "/v1/embeddings", json=embed, timeout=60)
        await asyncio.sleep(4.0)


async def anonymous(t: Traffic) -> None:
    tokens = itertools.cycle([None, "ipk_00000000_not-a-token", "ipk_deadbeef_guess"])
    while t.running():
        await t.call("anonymous", "anonymous", "GET", "/v1/models", token=next(tokens))
        await asyncio.sleep(0.1)  # ~10/s against a per-IP limit of 5/s: some 401s, some 429s


async def warm_up(t: Traffic) -> None:
    await asyncio.gather(*(t.call(name, "warm-up", "GET", "/v1/models") for name in t.tokens))


async def batch(t: Traffic) -> None:
    items = [{"custom_id": str(n), "endpoint": "/v1/chat/completions", "body": CHAT_BODY} for n in range(5)]
    while t.running():
        record = await t.call("batch", "batch", "POST", "/v1/batches", json={"requests": items})
        t.batches_served = record.status != 404
        if not t.batches_served:
            return
        await asyncio.sleep(10.0)


SCENARIOS: dict[str, Callable[[Traffic], Awaitable[None]]] = {
    "reader": reader,
    "inference": inference,
    "stream": stream,
    "retry": retry,
    "burst": burst,
    "sustained": sustained,
    "real": real,
    "anonymous": anonymous,
    "batch": batch,
}


async def run_traffic(
    base_url: str, *, tokens: dict[str, str], limits: dict[str, int], seconds: float, real_models: bool
) -> Traffic:
    limits_ = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=KEEPALIVE_EXPIRY_S)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits_) as client:
        traffic = Traffic(client, tokens, limits, time.monotonic() + seconds, real_models)
        await warm_up(traffic)
        tasks = [scenario(traffic) for name, scenario in SCENARIOS.items() for _ in range(CONCURRENCY[name])]
        await asyncio.gather(*tasks)
    return traffic
