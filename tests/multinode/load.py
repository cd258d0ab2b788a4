"""Clients of the multi-node run: chat requests (JSON or SSE) spread over the nodes, each recorded
with what the invariants need (when, which node, status, request id, which replica answered)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from .cluster import Node

MODEL = "pool-chat"
REQUEST_TIMEOUT_S = 30.0


@dataclass
class Outcome:
    node: str
    sent: float  # wall clock (time.time()), comparable with the servers' rate-limit windows
    done: float = 0.0
    status: int | None = None  # None: no HTTP answer (refused, reset, timed out)
    request_id: str = ""  # X-Request-Id of this attempt
    body_request_id: str = ""  # the envelope's: the original request's on an idempotent replay
    error: str = ""  # the envelope's error code, a stream's error event code, or the transport error
    stream: bool = False
    chunks: int = 0
    replica: str = ""  # the fake replica whose tokens came back
    completed: bool = False  # a 200 with its whole answer (a stream's `done` event)
    replayed: bool = False
    key: str = ""

    @property
    def latency_s(self) -> float:
        return self.done - self.sent


class Balancer:
    """Round robin over the nodes a load balancer still considers up; a node whose connection
    fails is taken out, as a balancer's health check would."""

    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = list(nodes)
        self.down: set[str] = set()
        self._turn = itertools.count()

    def pick(self, *, avoid: str = "") -> Node:
        up = [node for node in self.nodes if node.name not in self.down and node.name != avoid]
        up = up or [node for node in self.nodes if node.name not in self.down] or self.nodes
        return up[next(self._turn) % len(up)]

    def mark_down(self, node: str) -> None:
        if len(self.down) < len(self.nodes) - 1:
            self.down.add(node)


def chat_body(*, stream: bool, max_tokens: int = 8) -> dict[str, Any]:
    messages = [{"role": "user", "content": "Say something"}]
    return {"model": MODEL, "messages": messages, "max_tokens": max_tokens, "stream": stream}


async def chat(session: aiohttp.ClientSession, node: Node, token: str, *, stream: bool, key: str = "") -> Outcome:
    outcome = Outcome(node=node.name, sent=time.time(), stream=stream, key=key)
    headers = {"Authorization": f"Bearer {token}"} | ({"Idempotency-Key": key} if key else {})
    try:
        async with session.post(
            f"{node.url}/v1/chat/completions", json=chat_body(stream=stream), headers=headers
        ) as response:
            outcome.status = response.status
            outcome.request_id = response.headers.get("X-Request-Id", "")
            outcome.replayed = response.headers.get("Idempotent-Replayed") == "true"
            if response.status == 200 and stream:
                await _read_stream(response, outcome)
            else:
                _read_envelope(await response.read(), outcome)
    except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
        outcome.error = outcome.error or type(exc).__name__  # status stays None unless headers came
        outcome.completed = False
    outcome.done = time.time()
    return outcome


def _read_envelope(raw: bytes, outcome: Outcome) -> None:
    try:
        envelope = json.loads(raw)
    except ValueError:
        outcome.error = "not-json"
        return
    outcome.body_request_id = (envelope.get("meta") or {}).get("request_id", "")
    if envelope.get("error"):
        outcome.error = envelope["error"].get("code", "")
        return
    if outcome.status == 200:
        content = envelope["data"]["choices"][0]["message"]["content"]
        outcome.replica = content.split("-", 1)[0]
        outcome.completed = True


async def _read_stream(response: aiohttp.ClientResponse, outcome: Outcome) -> None:
    event, data = "", ""
    async for raw in response.content:
        line = raw.decode().rstrip("\r\n")
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data = line[5:].strip()
        elif not line and event:
            _stream_event(event, json.loads(data), outcome)
            event, data = "", ""
    outcome.body_request_id = outcome.request_id


def _stream_event(event: str, envelope: dict[str, Any], outcome: Outcome) -> None:
    if event == "chunk":
        if outcome.chunks == 0:
            outcome.replica = envelope["data"]["delta"].split("-", 1)[0]
        outcome.chunks += 1
    elif event == "done":
        outcome.completed = True
    elif event == "error":
        outcome.error = envelope["error"]["code"]


@dataclass
class Load:
    """Closed-loop clients for `duration_s`: each sends its next request when the last one ends."""

    balancer: Balancer
    token: str
    concurrency: int
    duration_s: float
    stream: bool = False
    outcomes: list[Outcome] = field(default_factory=list)

    async def run(self, session: aiohttp.ClientSession) -> list[Outcome]:
        deadline = time.monotonic() + self.duration_s
        await asyncio.gather(*(self._client(session, deadline) for _ in range(self.concurrency)))
        return self.outcomes

    async def _client(self, session: aiohttp.ClientSession, deadline: float) -> None:
        while time.monotonic() < deadline:
            node = self.balancer.pick()
            outcome = await chat(session, node, self.token, stream=self.stream)
            self.outcomes.append(outcome)
            if outcome.status is None:
                self.balancer.mark_down(node.name)
                await asyncio.sleep(0.05)


@dataclass
class Paced:
    """Open-loop: `rate` requests a second for `duration_s`, alternating nodes, whatever answers."""

    nodes: list[Node]
    token: str
    rate: float
    duration_s: float
    outcomes: list[Outcome] = field(default_factory=list)

    async def run(self, session: aiohttp.ClientSession) -> list[Outcome]:
        start = time.monotonic()
        tasks: list[asyncio.Task[Outcome]] = []
        for index in itertools.count():
            at = start + index / self.rate
            if at - start >= self.duration_s:
                break
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            node = self.nodes[index % len(self.nodes)]
            tasks.append(asyncio.create_task(chat(session, node, self.token, stream=False)))
        self.outcomes = list(await asyncio.gather(*tasks))
        return self.outcomes


@dataclass
class KeyedLoad:
    """Closed-loop clients whose every request has its own Idempotency-Key and is retried, on
    another node, until it succeeds: what a client does when its node dies under it."""

    balancer: Balancer
    token: str
    concurrency: int
    duration_s: float
    give_up_after_s: float = 20.0
    attempts: list[Outcome] = field(default_factory=list)
    finals: dict[str, Outcome] = field(default_factory=dict)  # key -> the attempt that succeeded
    unfinished: list[str] = field(default_factory=list)

    async def run(self, session: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + self.duration_s
        counter = itertools.count()
        await asyncio.gather(*(self._client(session, deadline, counter) for _ in range(self.concurrency)))

    async def _client(self, session: aiohttp.ClientSession, deadline: float, counter: itertools.count[int]) -> None:
        while time.monotonic() < deadline:
            key = f"mn-{next(counter)}-{time.time_ns()}"
            await self._until_done(session, key)

    async def _until_done(self, session: aiohttp.ClientSession, key: str) -> None:
        give_up = time.monotonic() + self.give_up_after_s
        avoid = ""
        while time.monotonic() < give_up:
            node = self.balancer.pick(avoid=avoid)
            outcome = await chat(session, node, self.token, stream=False, key=key)
            self.attempts.append(outcome)
            if outcome.completed:
                self.finals[key] = outcome
                return
            if outcome.status is None:
                self.balancer.mark_down(node.name)
                avoid = node.name
            await asyncio.sleep(0.2 if outcome.status == 409 else 0.05)
        self.unfinished.append(key)
