"""MicroBatcher: concurrent submissions share batches, run off the loop, and a full queue says 503."""

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


def test_concurrent_calls_are_batched_in_one_worker_thread(run: Runner) -> None:
    recorder = Recorder()
    batcher = MicroBatcher(recorder, max_batch_size=8, max_wait_s=0.02, name="test-batcher")

    results = run(submit_concurrently(batcher, 20))

    assert results == [i * 2 for i in range(20)]
    assert sum(recorder.sizes) == 20 and max(recorder.sizes) == 8 and len(recorder.sizes) <= 4
    assert recorder.threads == {"test-batcher"}


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
