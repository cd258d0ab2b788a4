"""Closing a stream early stops the generation on the server: checked on the server's side, in its
request log (status 499, "client closed request", with fewer tokens than the model would produce)
and in the usage it charged. Sync and async."""

from __future__ import annotations

import pytest

from inference_platform_sdk import APIUserAbortError, AsyncClient, Client

from .server import SLOW, request_log

SLOW_TOKENS = 5  # fake-slow: 5 tokens, 0.3 s each


def test_closing_a_stream_early_stops_the_generation_on_the_server(client: Client):
    with client.inference.complete_stream(model=SLOW, prompt="stop me now please") as stream:
        first = next(iter(stream))
    request_id = stream.response_meta.request_id
    assert first.delta == "stop" and request_id

    logged = request_log(request_id)

    assert logged.stream and logged.status == 499
    assert logged.completion_tokens is not None and 1 <= logged.completion_tokens < SLOW_TOKENS
    with pytest.raises(APIUserAbortError):
        stream.final()


def test_leaving_the_loop_early_closes_the_stream(client: Client):
    stream = client.inference.chat_stream(model=SLOW, messages=[{"role": "user", "content": "break here"}])
    for _chunk in stream:
        break

    logged = request_log(stream.response_meta.request_id or "")

    assert logged.status == 499 and (logged.completion_tokens or 0) < SLOW_TOKENS


@pytest.mark.anyio
async def test_async_closing_a_stream_early_stops_the_generation_on_the_server(async_client: AsyncClient):
    async with await async_client.inference.chat_stream(
        model=SLOW, messages=[{"role": "user", "content": "async stop"}]
    ) as stream:
        async for _chunk in stream:
            break
    request_id = stream.response_meta.request_id or ""

    logged = request_log(request_id)

    assert logged.status == 499 and logged.completion_tokens is not None and logged.completion_tokens < SLOW_TOKENS
    with pytest.raises(APIUserAbortError):
        await stream.final()


def test_a_stream_read_to_its_end_is_logged_200_with_every_token(client: Client):
    """The control case: the same model, not closed early."""
    stream = client.inference.complete_stream(model=SLOW, prompt="all of it")
    stream.final()

    logged = request_log(stream.response_meta.request_id or "")

    assert (logged.status, logged.completion_tokens) == (200, SLOW_TOKENS)
