"""`batches.wait_for`: follows the progress stream, falls back to polling when the stream breaks,
reports each new state once, and gives up after `max_wait` with the last state seen."""

from __future__ import annotations

import httpx
import pytest

from inference_platform_sdk import BatchWaitTimeoutError, NotFoundError, is_terminal_batch
from inference_platform_sdk.types import Batch

from .scripted import Script, batch, event, failure, ok, sse


def progress(status: str, completed: int = 0) -> str:
    return event("progress", batch(status, completed))


def test_wait_for_follows_the_progress_stream_and_reports_each_change():
    done = event("done", batch("completed", 2))
    script = Script(sse(progress("queued"), progress("running"), progress("running"), progress("running", 1), done))
    seen: list[Batch] = []

    final = script.client().batches.wait_for("batch_1", on_progress=seen.append)

    assert final.status == "completed" and is_terminal_batch(final)
    assert [(b.status, b.counts.completed) for b in seen] == [("queued", 0), ("running", 0), ("running", 1),
                                                               ("completed", 2)]  # fmt: skip
    assert str(script.requests[0].url) == "http://api.test/v1/batches/batch_1/events"


def test_wait_for_polls_when_the_stream_is_unavailable(sleeps):
    script = Script(
        failure(503, "service_unavailable"),  # the stream, and its one retry
        failure(503, "service_unavailable"),
        ok(batch("running")),
        ok(batch("completed", 2)),
    )

    final = script.client(max_retries=1).batches.wait_for("batch_1", poll_interval=0.2)

    assert final.status == "completed"
    assert [r.url.path for r in script.requests[2:]] == ["/v1/batches/batch_1"] * 2
    assert sleeps[-1] == 0.2


def test_wait_for_an_unknown_batch_is_not_found_without_polling():
    script = Script(failure(404, "not_found"))

    with pytest.raises(NotFoundError):
        script.client().batches.wait_for("batch_nope")

    assert len(script.requests) == 1


def test_wait_for_gives_up_after_max_wait_with_the_last_state_seen():
    script = Script(sse(progress("running"), httpx.ReadTimeout("silence")))

    with pytest.raises(BatchWaitTimeoutError) as caught:
        script.client().batches.wait_for("batch_1", max_wait=0.0)

    assert caught.value.batch is not None and caught.value.batch.status == "running"
    assert script.requests[0].extensions["timeout"]["read"] == 0.001  # the stream's silence is bounded


def test_events_yields_the_batch_at_each_change_then_the_terminal_one():
    script = Script(sse(progress("running"), event("done", batch("completed", 2))))

    with script.client().batches.events("batch_1") as stream:
        states = [b.status for b in stream]
        final = stream.final()

    assert states == ["running"] and final.status == "completed"


@pytest.mark.anyio
async def test_async_wait_for_follows_the_stream():
    script = Script(sse(progress("running", 1), event("done", batch("completed", 2))))
    seen: list[Batch] = []

    final = await script.async_client().batches.wait_for("batch_1", on_progress=seen.append)

    assert final.status == "completed" and [b.status for b in seen] == ["running", "completed"]


@pytest.mark.anyio
async def test_async_wait_for_times_out_with_the_last_state(monkeypatch):
    import asyncio

    from inference_platform_sdk import _http

    async def real_sleep(seconds: float) -> None:
        await asyncio.sleep(seconds)

    monkeypatch.setattr(_http, "async_sleep", real_sleep)
    script = Script(failure(503, "service_unavailable"), *[ok(batch("running"))] * 50)

    with pytest.raises(BatchWaitTimeoutError) as caught:
        await script.async_client(max_retries=0).batches.wait_for("batch_1", max_wait=0.3, poll_interval=0.05)

    assert caught.value.batch is not None and caught.value.batch.status == "running"
