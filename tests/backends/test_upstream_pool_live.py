"""OpenAICompatibleBackend over a pool of fake replicas on loopback (real HTTP, real sockets)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from apps.backends.base import ChatMessage, GenerationParams, StreamEnd, TextDelta
from apps.backends.openai_compatible import OpenAICompatibleBackend
from apps.backends.upstream_pool import ReplicaSpec
from apps.core.errors import ModelOverloaded, UpstreamError
from tests.support.fake_replica import Behaviour, FakeReplica

from . import fake_upstream as up
from .conftest import Runner

MESSAGES = [ChatMessage(role="user", content="Hi")]
PARAMS = GenerationParams(max_tokens=8)


def backend(*replicas: str | ReplicaSpec, **options: Any) -> OpenAICompatibleBackend:
    specs = [spec if isinstance(spec, ReplicaSpec) else ReplicaSpec(url=spec) for spec in replicas]
    return OpenAICompatibleBackend(replicas=specs, upstream_model="m", **options)


@contextlib.asynccontextmanager
async def serving(*replicas: FakeReplica) -> AsyncIterator[list[str]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(replica.serving()) for replica in replicas]


async def chat_text(upstream: OpenAICompatibleBackend) -> str:
    return (await upstream.chat(messages=MESSAGES, params=PARAMS)).text


def test_a_refused_replica_is_failed_over_and_ejected(run: Runner) -> None:
    good = FakeReplica("good")

    async def scenario() -> tuple[list[str], Any]:
        async with serving(good) as [url]:
            upstream = backend(up.refused_url(), url)
            texts = [await chat_text(upstream) for _ in range(4)]
            return texts, upstream.pool.snapshot()

    texts, (dead, alive) = run(scenario())

    assert all(text.startswith("good-0 ") for text in texts)
    assert good.stats.generations == 4
    assert (dead.health, dead.errors, dead.ejections, dead.last_error) == ("ejected", 1, 1, "connect failed")
    assert alive.health == "healthy"


def test_a_stream_dropped_before_its_first_token_is_served_by_another_replica(run: Runner) -> None:
    broken, good = FakeReplica("broken", Behaviour(refuse_before_first_token=True)), FakeReplica("good")

    async def scenario() -> list[Any]:
        async with serving(broken, good) as urls:
            upstream = backend(*urls)
            return [[event async for event in upstream.chat_stream(messages=MESSAGES, params=PARAMS)] for _ in range(2)]

    streams = run(scenario())

    for events in streams:
        assert isinstance(events[-1], StreamEnd) and events[-1].usage.completion_tokens == 8
        assert "".join(event.text for event in events[:-1] if isinstance(event, TextDelta)).startswith("good-0 ")
    assert broken.stats.generations == 1  # tried once, then ejected
    assert good.stats.completed == 2


def test_a_5xx_answer_is_failed_over(run: Runner) -> None:
    failing, good = FakeReplica("failing", Behaviour(fail_status=500)), FakeReplica("good")

    async def scenario() -> list[str]:
        async with serving(failing, good) as urls:
            upstream = backend(*urls)
            return [await chat_text(upstream) for _ in range(3)]

    assert all(text.startswith("good-0") for text in run(scenario()))
    assert failing.stats.generations == 1


def test_no_retry_once_the_first_token_was_received(run: Runner) -> None:
    dropping = FakeReplica("dropping", Behaviour(drop_after_tokens=2, token_delay_s=0.01))
    other = FakeReplica("other")

    async def scenario() -> tuple[list[str], Any]:
        async with serving(dropping, other) as urls:
            upstream = backend(*urls)
            received: list[str] = []
            with pytest.raises(UpstreamError):
                async for event in upstream.chat_stream(messages=MESSAGES, params=PARAMS):
                    assert isinstance(event, TextDelta)
                    received.append(event.text)
            return received, upstream.pool.snapshot()

    received, (first, second) = run(scenario())

    assert received == ["dropping-0 ", "dropping-1 "]
    assert other.stats.generations == 0
    assert (first.health, first.last_error) == ("ejected", "connection dropped")
    assert first.in_flight == second.in_flight == 0


def test_the_least_busy_replica_takes_the_next_request(run: Runner) -> None:
    a, b = FakeReplica("a", Behaviour(token_delay_s=0.05)), FakeReplica("b")

    async def scenario() -> str:
        async with serving(a, b) as urls:
            upstream = backend(*urls)
            long_stream = upstream.chat_stream(messages=MESSAGES, params=PARAMS)
            first = await anext(long_stream)  # now one request is in flight, on a or on b
            assert isinstance(first, TextDelta)
            busy = first.text[0]
            texts = [await chat_text(upstream) for _ in range(3)]
            await long_stream.aclose()
            return busy + "".join(text[0] for text in texts)

    picks = run(scenario())
    idle = "b" if picks[0] == "a" else "a"
    assert picks[1:] == idle * 3


def test_caps_hold_and_a_full_pool_is_model_overloaded(run: Runner) -> None:
    a, b = FakeReplica("a", Behaviour(token_delay_s=0.2)), FakeReplica("b", Behaviour(token_delay_s=0.2))

    async def scenario() -> list[Any]:
        async with serving(a, b) as urls:
            upstream = backend(*(ReplicaSpec(url=url, max_in_flight=2) for url in urls))
            calls = [chat_text(upstream) for _ in range(6)]
            return await asyncio.gather(*calls, return_exceptions=True)

    results = run(scenario())

    overloaded = [result for result in results if isinstance(result, ModelOverloaded)]
    assert len(overloaded) == 2 and all(error.headers["Retry-After"] == "1" for error in overloaded)
    assert sum(isinstance(result, str) for result in results) == 4
    assert a.stats.max_in_flight == 2 and b.stats.max_in_flight == 2


def test_an_ejected_replica_returns_when_its_health_check_answers(run: Runner) -> None:
    flaky, good = FakeReplica("flaky", Behaviour(fail_status=502)), FakeReplica("good")

    async def scenario() -> tuple[str, str, int]:
        async with serving(flaky, good) as urls:
            upstream = backend(*urls, cooldown_s=0.2)
            await chat_text(upstream)
            assert upstream.pool.snapshot()[0].health == "ejected"
            flaky.behaviour = Behaviour()  # fixed; nothing reaches it until a probe says so
            await chat_text(upstream)
            assert flaky.stats.health_checks == 0
            await asyncio.sleep(0.25)
            await chat_text(upstream)  # starts the probe
            for _ in range(50):
                if upstream.pool.snapshot()[0].health == "healthy":
                    break
                await asyncio.sleep(0.02)
            texts = [await chat_text(upstream) for _ in range(4)]
            return upstream.pool.snapshot()[0].health, "".join(t[0] for t in texts), flaky.stats.health_checks

    health, picks, checks = run(scenario())

    assert health == "healthy" and checks == 1
    assert picks.count("f") == 2 and picks.count("g") == 2


def test_the_fast_replica_serves_most_requests_when_the_other_is_ten_times_slower(run: Runner) -> None:
    """At 32 concurrent requests, least-in-flight sends >= 80% to the fast replica (ideal: 10/11)."""
    # Delays long enough that this loop's own CPU time (client and both servers) stays small beside them.
    fast = FakeReplica("fast", Behaviour(token_delay_s=0.02, tokens=8))
    slow = FakeReplica("slow", Behaviour(token_delay_s=0.2, tokens=8))
    total, concurrency = 480, 32

    async def scenario() -> None:
        async with serving(fast, slow) as urls:
            upstream = backend(*urls)
            queue = iter(range(total))

            async def client() -> None:
                for _ in queue:
                    async for _event in upstream.chat_stream(messages=MESSAGES, params=PARAMS):
                        pass

            await asyncio.gather(*(client() for _ in range(concurrency)))

    run(scenario())  # ~5 s on an idle machine, well inside the runner's 30 s bound

    served = fast.stats.completed + slow.stats.completed
    assert served == total
    share = fast.stats.completed / served
    print(f"fast replica share at c={concurrency}: {share:.1%} ({fast.stats.completed}/{served})")
    assert share >= 0.8
