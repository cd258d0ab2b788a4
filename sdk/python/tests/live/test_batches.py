"""Batches against the live server: its embedded worker runs them on the deterministic fake models."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from inference_platform_sdk import AsyncClient, BadRequestError, Client, NotFoundError
from inference_platform_sdk.types import Batch, BatchCreateParams, BatchRequestParam, BatchResult

from .server import FAKE, SLOW

WAIT = 60.0


def small_batch(tag: str) -> BatchCreateParams:
    """Three requests whose answers the fake model makes predictable: it echoes the prompt's words."""
    return {
        "requests": [
            {"custom_id": f"{tag}-z", "endpoint": "/v1/completions",
             "body": {"model": FAKE, "prompt": "alpha beta", "max_tokens": 3}},
            {"custom_id": f"{tag}-a", "endpoint": "/v1/chat/completions",
             "body": {"model": FAKE, "messages": [{"role": "user", "content": "one two"}]}},
            {"custom_id": f"{tag}-m", "endpoint": "/v1/completions", "body": {"model": FAKE, "prompt": "gamma"}},
        ],
        "metadata": {"suite": "sdk-python-live", "tag": tag},
    }  # fmt: skip


def slow_batch(size: int) -> BatchCreateParams:
    """Requests of the slow fake model: 5 tokens of 0.3 s each, so the batch runs for a while."""
    requests: list[BatchRequestParam] = [
        {"custom_id": f"slow-{i}", "endpoint": "/v1/completions", "body": {"model": SLOW, "prompt": f"slow {i}"}}
        for i in range(size)
    ]
    return {"requests": requests}


def test_create_wait_for_then_every_result_in_order_narrowed_by_endpoint(client: Client):
    tag = f"order-{uuid.uuid4().hex[:8]}"
    created = client.batches.create(**small_batch(tag))

    assert created.id.startswith("batch_") and created.response_meta is not None
    assert created.response_meta.status == 201 and created.status in ("queued", "running", "completed")
    assert created.counts.total == 3 and created.metadata == {"suite": "sdk-python-live", "tag": tag}
    seen: list[Batch] = []

    done = client.batches.wait_for(created.id, max_wait=WAIT, on_progress=seen.append)

    assert (done.id, done.status) == (created.id, "completed")
    assert done.counts.model_dump() == {"total": 3, "completed": 3, "failed": 0, "cancelled": 0}
    assert done.started_at and done.finished_at and seen[-1] == done
    assert client.batches.get(created.id) == done
    page = client.batches.results(created.id, limit=2)
    assert len(page.items) == 2 and isinstance(page.next_cursor, str)
    results: list[BatchResult] = list(client.batches.results(created.id, limit=2))  # 3 items over 2 pages
    assert [(r.custom_id, r.endpoint, r.status, r.error) for r in results] == [
        (f"{tag}-z", "/v1/completions", "completed", None),
        (f"{tag}-a", "/v1/chat/completions", "completed", None),
        (f"{tag}-m", "/v1/completions", "completed", None),
    ]
    first, second, third = results
    # `endpoint` narrows `response` to that endpoint's answer: no casts.
    assert first.endpoint == "/v1/completions" and first.response is not None
    assert first.response.id.startswith("cmpl_") and first.response.choices[0].text == "alpha beta alpha"
    assert first.response.usage == first.usage
    assert second.endpoint == "/v1/chat/completions" and second.response is not None
    assert second.response.choices[0].message.content == "one two one two one"
    assert third.endpoint == "/v1/completions" and third.response is not None
    assert third.response.choices[0].text == "gamma gamma gamma gamma gamma"


def test_events_yield_progress_then_the_terminal_batch(client: Client):
    created = client.batches.create(**slow_batch(2))

    with client.batches.events(created.id) as stream:
        progress = list(stream)
        done = stream.final()

    assert progress and all(b.id == created.id and b.status in ("queued", "running") for b in progress)
    assert (done.status, done.counts.completed) == ("completed", 2)
    assert (stream.response_meta.request_id or "").startswith("req_")
    with client.batches.events(created.id) as again:  # a finished batch: no progress, just the end
        assert list(again) == [] and again.final() == done


def test_create_with_the_same_key_and_body_replays_the_same_batch(client: Client):
    key = f"sdk-py-{uuid.uuid4()}"
    params = small_batch("replay")

    first = client.batches.create(**params, idempotency_key=key)
    second = client.batches.create(**params, idempotency_key=key)
    other = client.batches.create(**params)

    assert second.id == first.id and other.id != first.id
    assert first.response_meta is not None and second.response_meta is not None
    assert (first.response_meta.replayed, second.response_meta.replayed) == (False, True)
    for batch_id in (first.id, other.id):
        client.batches.wait_for(batch_id, max_wait=WAIT)


def test_cancel_a_finished_batch_is_answered_unchanged(client: Client):
    done = client.batches.wait_for(client.batches.create(**small_batch("finished")).id, max_wait=WAIT)

    cancelled = client.batches.cancel(done.id)

    assert cancelled == done and cancelled.cancel_requested_at is None


def test_cancel_a_running_batch_running_items_finish_pending_ones_never_run(client: Client):
    created = client.batches.create(**slow_batch(3))
    with client.batches.events(created.id) as stream:
        for batch in stream:
            if batch.status == "running":
                break

    cancelling = client.batches.cancel(created.id)

    assert cancelling.status in ("cancelling", "cancelled") and cancelling.cancel_requested_at
    done = client.batches.wait_for(created.id, max_wait=WAIT)
    assert done.status == "cancelled" and done.counts.completed + done.counts.cancelled == 3
    for result in client.batches.results(created.id):
        assert result.status in ("completed", "cancelled")
        if result.status == "completed":
            assert result.usage is not None and result.usage.completion_tokens == 5, "ran to its end"
        else:
            assert result.response is None


def test_list_is_newest_first_and_iterates_across_pages(client: Client):
    created = client.batches.create(**small_batch("list"))

    page = client.batches.list(limit=1)
    ids = [batch.id for batch in client.batches.list(limit=2)]

    assert page.items[0].id == created.id and ids[0] == created.id
    assert len(ids) >= 5 and len(set(ids)) == len(ids)
    client.batches.wait_for(created.id, max_wait=WAIT)


def test_an_unknown_model_is_a_400_naming_the_item_and_no_batch_is_created(client: Client):
    before = client.batches.list(limit=1).items[0].id
    params = small_batch("bad-model")
    params["requests"][1] = {"custom_id": "x", "endpoint": "/v1/completions",
                             "body": {"model": "no-such-model", "prompt": "?"}}  # fmt: skip

    with pytest.raises(BadRequestError) as caught:
        client.batches.create(**params)

    error = caught.value
    assert (error.status, error.code, error.param) == (400, "invalid_request", "requests[1].body.model")
    assert [detail["param"] for detail in error.details or []] == ["requests[1].body.model"]
    assert client.batches.list(limit=1).items[0].id == before


def test_an_unknown_batch_is_not_found_on_every_path(client: Client):
    calls: dict[str, Callable[[], object]] = {
        "get": lambda: client.batches.get("batch_doesnotexist"),
        "cancel": lambda: client.batches.cancel("batch_doesnotexist"),
        "results": lambda: client.batches.results("batch_doesnotexist"),
        "events": lambda: client.batches.events("batch_doesnotexist"),
        "wait_for": lambda: client.batches.wait_for("batch_doesnotexist", max_wait=WAIT),
    }
    for name, call in calls.items():
        with pytest.raises(NotFoundError) as caught:
            call()
        assert caught.value.code == "not_found", name
        assert (caught.value.request_id or "").startswith("req_"), name


@pytest.mark.anyio
async def test_async_create_wait_for_and_results(async_client: AsyncClient):
    created = await async_client.batches.create(**small_batch("async"))
    seen: list[str] = []

    done = await async_client.batches.wait_for(created.id, max_wait=WAIT, on_progress=lambda b: seen.append(b.status))
    results = [result async for result in async_client.batches.results(created.id, limit=1)]
    page = await async_client.batches.list(limit=1)
    again = await async_client.batches.get(created.id)
    cancelled = await async_client.batches.cancel(created.id)
    async with await async_client.batches.events(created.id) as stream:
        final = await stream.final()

    assert done.status == "completed" and seen[-1] == "completed"
    assert [r.custom_id for r in results] == ["async-z", "async-a", "async-m"]
    assert page.items[0].id == created.id and again == done == cancelled == final
