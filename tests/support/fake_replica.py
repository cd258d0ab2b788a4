"""A fake OpenAI-compatible model server, one replica of a pool, whose speed and faults a test sets.

In-process (the pool's live tests):

    replica = FakeReplica("a", Behaviour(token_delay_s=0.01))
    async with replica.serving() as url: ...          # http://127.0.0.1:<port>
    replica.behaviour.fail_status = 503               # change it while it runs
    replica.stats.generations                         # what it served

As a process (the multi-node harness, one per network namespace):

    python -m tests.support.fake_replica --host 10.231.18.21 --port 8000 --name r1 --token-delay-s 0.01

prints `ready` once listening; `GET /_stats` answers its counts and `POST /_control` (a JSON object
of Behaviour fields) changes its behaviour while it runs.

Generations stream `tokens` chunks (fewer when the request's max_tokens is lower), `token_delay_s`
apart, then a usage chunk when asked (`stream_options.include_usage`), then `[DONE]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

GENERATION_PATHS = ("/v1/chat/completions", "/v1/completions")


@dataclass
class Behaviour:
    token_delay_s: float = 0.0
    first_token_delay_s: float = 0.0
    tokens: int = 8
    fail_status: int | None = None  # answer generations with this HTTP status instead
    refuse_before_first_token: bool = False  # reset the connection before any byte (a dying server)
    drop_after_tokens: int | None = None  # cut the connection after this many tokens
    health_status: int = 200


@dataclass
class Stats:
    generations: int = 0  # generation requests received
    completed: int = 0
    failed: int = 0  # answered with fail_status, refused or dropped on purpose
    cancelled: int = 0  # the client went away mid-stream
    in_flight: int = 0
    max_in_flight: int = 0
    health_checks: int = 0
    started_at: float = field(default_factory=time.monotonic)


class FakeReplica:
    def __init__(self, name: str, behaviour: Behaviour | None = None) -> None:
        self.name = name
        self.behaviour = behaviour or Behaviour()
        self.stats = Stats()

    def app(self) -> web.Application:
        app = web.Application()
        for path in GENERATION_PATHS:
            app.router.add_post(path, self._generate)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/tokenize", self._tokenize)
        app.router.add_get("/health", self._health)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/_stats", self._stats)
        app.router.add_post("/_control", self._control)
        return app

    @contextlib.asynccontextmanager
    async def serving(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        runner = web.AppRunner(self.app(), shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        try:
            yield f"http://{host}:{runner.addresses[0][1]}"
        finally:
            await runner.cleanup()

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        behaviour, stats = self.behaviour, self.stats
        stats.generations += 1
        if behaviour.fail_status is not None:
            stats.failed += 1
            return web.json_response({"error": {"message": f"{self.name} failing"}}, status=behaviour.fail_status)
        if behaviour.refuse_before_first_token:
            stats.failed += 1
            assert request.transport is not None
            request.transport.abort()
            return web.Response()
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            return await self._stream(request, body)
        except ConnectionResetError:  # the client left mid-stream (a cancelled request)
            stats.cancelled += 1
            raise
        finally:
            stats.in_flight -= 1

    async def _stream(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        behaviour = self.behaviour
        chat = request.path.endswith("/chat/completions")
        count = max(1, min(int(body.get("max_tokens") or behaviour.tokens), behaviour.tokens))
        finish = "length" if count < behaviour.tokens else "stop"
        usage = {"prompt_tokens": 3, "completion_tokens": count, "total_tokens": 3 + count}
        if not body.get("stream"):
            await asyncio.sleep(behaviour.first_token_delay_s + behaviour.token_delay_s * count)
            self.stats.completed += 1
            return web.json_response(_whole(chat, self.name, count, finish, usage))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await asyncio.sleep(behaviour.first_token_delay_s)
        for index in range(count):
            if behaviour.drop_after_tokens is not None and index == behaviour.drop_after_tokens:
                self.stats.failed += 1
                assert request.transport is not None
                request.transport.abort()
                return response
            last = index == count - 1
            await _event(response, _chunk(chat, f"{self.name}-{index} ", finish if last else None))
            if not last:
                await asyncio.sleep(behaviour.token_delay_s)
        if (body.get("stream_options") or {}).get("include_usage"):
            await _event(response, {"choices": [], "usage": usage})
        await response.write(b"data: [DONE]\n\n")
        self.stats.completed += 1
        return response

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        inputs = (await request.json()).get("input") or []
        inputs = [inputs] if isinstance(inputs, str) else inputs
        data = [{"index": i, "embedding": [float(len(text)), 1.0, 0.0]} for i, text in enumerate(inputs)]
        return web.json_response({"data": data, "usage": {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}})

    async def _tokenize(self, request: web.Request) -> web.StreamResponse:
        text = (await request.json()).get("content") or ""
        return web.json_response({"tokens": list(range(max(1, len(text.split()))))})

    async def _health(self, request: web.Request) -> web.StreamResponse:
        self.stats.health_checks += 1
        return web.json_response(
            {"status": "ok" if self.behaviour.health_status < 300 else "down"}, status=self.behaviour.health_status
        )

    async def _models(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"object": "list", "data": [{"id": "fake", "object": "model"}]})

    async def _stats(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"name": self.name, **dataclasses.asdict(self.stats)})

    async def _control(self, request: web.Request) -> web.StreamResponse:
        changes = await request.json()
        known = {f.name for f in dataclasses.fields(Behaviour)}
        unknown = sorted(set(changes) - known)
        if unknown:
            return web.json_response({"error": f"unknown fields {unknown}"}, status=400)
        self.behaviour = dataclasses.replace(self.behaviour, **changes)
        return web.json_response(dataclasses.asdict(self.behaviour))


def _chunk(chat: bool, text: str, finish: str | None) -> dict[str, Any]:
    choice = {"index": 0, "delta": {"content": text}} if chat else {"index": 0, "text": text}
    return {"choices": [{**choice, "finish_reason": finish}]}


def _whole(chat: bool, name: str, count: int, finish: str, usage: dict[str, int]) -> dict[str, Any]:
    text = "".join(f"{name}-{index} " for index in range(count))
    choice = {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
    return {"choices": [{"index": 0, **choice, "finish_reason": finish}], "usage": usage}


async def _event(response: web.StreamResponse, payload: dict[str, Any]) -> None:
    await response.write(f"data: {json.dumps(payload)}\n\n".encode())


async def _main(args: argparse.Namespace) -> None:
    behaviour = Behaviour(token_delay_s=args.token_delay_s, tokens=args.tokens)
    replica = FakeReplica(args.name, behaviour)
    async with replica.serving(args.host, args.port):
        print("ready", flush=True)
        await asyncio.Event().wait()  # until killed: the harness stops it by pid


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--name", default="replica")
    parser.add_argument("--token-delay-s", type=float, default=0.0)
    parser.add_argument("--tokens", type=int, default=8)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
