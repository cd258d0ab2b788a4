"""MicroBatcher: no wait window (an idle model runs what waits at once; what queued while it was
busy runs together), work off the loop, and a full queue says 503."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from apps.backends.microbatcher import MicroBatcher
from apps.core.errors import ModelOverloaded

from .conftest import Runner


class Recorder:
    """A batch function that records what it saw and where it ran."""

    def __init__(self, seconds: float = 0.01) -> None:
        self.sizes: list[int] = []
        self.threads: set[str] = set()
        self.seconds = seconds

    def __call__(self, items: list[int]) -> list[int]:
        self.sizes.append(len(items))
        self.threads.add(threading.current_thread().name)
        time.sleep(self.seconds)
        return [item * 2 for item in items]


async def submit_concurrently(batcher: MicroBatcher[int, int], count: int) -> list[int]:
    results = await asyncio.gather(*(batcher.submit(i) for i in range(count)))
    batcher.close()
    return list(results)


class Gate:
    """A batch function that holds its first batch until released: the model "busy", on demand."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.threads: set[str] = set()
        self.running, self.release = threading.Event(), threading.Event()

    def __call__(self, items: list[int]) -> list[int]:
        self.sizes.append(len(items))
        self.threads.add(threading.current_thread().name)
        self.running.set()
        self.release.wait(5.0)
        return [item * 2 for item in items]


async def while_busy(batcher: MicroBatcher[int, int], gate: Gate, first: int, then: range) -> list[int]:
    """Submit `first`; once the model runs it, submit `then` (they queue), then let it finish."""
    running = asyncio.ensure_future(batcher.submit(first))
    await asyncio.to_thread(gate.running.wait, 5.0)
    queued = [asyncio.ensure_future(batcher.submit(i)) for i in then]
    while batcher.queue_depth < len(then):
        await asyncio.sleep(0.001)
    gate.release.set()
    results = await asyncio.gather(running, *queued)
    batcher.close()
    return list(results)


def test_an_item_of_an_idle_batcher_runs_at_once_alone_and_what_queued_meanwhile_runs_together(run: Runner) -> None:
    gate = Gate()
    batcher = MicroBatcher(gate, max_batch_size=32, name="test-batcher")

    results = run(while_busy(batcher, gate, 0, range(1, 21)))

    assert results == [i * 2 for i in range(21)]
    # The first item did not wait for the 20 that came right after it; they did not wait for more.
    assert gate.sizes == [1, 20]
    assert gate.threads == {"test-batcher"}


def test_what_queued_while_busy_runs_in_batches_of_at_most_max_batch_size(run: Runner) -> None:
    gate = Gate()
    batcher = MicroBatcher(gate, max_batch_size=8)

    run(while_busy(batcher, gate, 0, range(1, 21)))

    assert gate.sizes == [1, 8, 8, 4]


def test_one_request_with_many_inputs_runs_as_one_batch(run: Runner) -> None:
    recorder = Recorder(seconds=0)
    batcher = MicroBatcher(recorder, max_batch_size=32)

    async def scenario() -> list[int]:
        results = await batcher.submit_many(list(range(5)))
        batcher.close()
        return results

    assert run(scenario()) == [0, 2, 4, 6, 8]
    assert recorder.sizes == [5]


def test_batch_size_one_switches_batching_off(run: Runner) -> None:
    recorder = Recorder(seconds=0)
    batcher = MicroBatcher(recorder, max_batch_size=1)

    run(submit_concurrently(batcher, 5))

    assert recorder.sizes == [1, 1, 1, 1, 1]


def test_a_full_queue_raises_model_overloaded_with_retry_after(run: Runner) -> None:
    started, release = threading.Event(), threading.Event()

    def blocking(items: list[int]) -> list[int]:
        started.set()
        release.wait(5.0)
        return items

    batcher = MicroBatcher(blocking, max_batch_size=1, max_queue=3)

    async def scenario() -> Any:
        running = [asyncio.create_task(batcher.submit(0))]
        await asyncio.to_thread(started.wait, 5.0)
        running += [asyncio.create_task(batcher.submit(i)) for i in range(1, 4)]
        await asyncio.sleep(0.01)
        assert batcher.queue_depth == 3
        try:
            with pytest.raises(ModelOverloaded) as raised:
                await batcher.submit(99)
        finally:
            release.set()
            await asyncio.gather(*running)
            batcher.close()
        return raised.value

    error = run(scenario())

    assert error.status == 503 and error.headers == {"Retry-After": "1", "Retry-After-Ms": "1000"}


def test_a_failing_batch_fails_its_callers_and_the_worker_lives_on(run: Runner) -> None:
    calls: list[list[int]] = []

    def flaky(items: list[int]) -> list[int]:
        calls.append(items)
        if len(calls) == 1:
            raise ValueError("boom")
        return items

    batcher = MicroBatcher(flaky)

    async def scenario() -> int:
        with pytest.raises(ValueError, match="boom"):
            await batcher.submit(1)
        result = await batcher.submit(2)
        batcher.close()
        return result

    assert run(scenario()) == 2


def test_admission_refuses_past_its_bound_and_frees_slots():
    from apps.backends.overload import Admission
    from apps.core.errors import ModelOverloaded

    admission = Admission(limit=2)
    with admission.slot(), admission.slot():
        with pytest.raises(ModelOverloaded) as refused, admission.slot():
            pass
        assert refused.value.headers["Retry-After"] == "1"
    with admission.slot():
        assert admission.in_flight == 1
    assert admission.in_flight == 0
