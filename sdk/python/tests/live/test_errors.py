"""Each error family as the server really produces it, and a stream's `error` event, sync and async."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from inference_platform_sdk import (
    APIConnectionTimeoutError,
    APIError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    ConflictError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    UnprocessableEntityError,
)

from .server import BASE_URL, FAILING, FAKE, SLOW, TOKENS


def assert_context(error: APIError) -> None:
    assert (error.request_id or "").startswith("req_")
    assert error.headers is not None and error.headers.get("x-ratelimit-limit"), "errors carry the rate-limit headers"


def test_401_a_bad_token_is_an_authentication_error():
    with (
        Client(token="ipk_not_a_real_token", base_url=BASE_URL) as anonymous,
        pytest.raises(AuthenticationError) as caught,
    ):
        anonymous.models.list()

    assert (caught.value.status, caught.value.code) == (401, "invalid_token")
    assert_context(caught.value)


def test_404_an_unknown_model_id_is_not_found(client: Client):
    with pytest.raises(NotFoundError) as caught:
        client.models.get("no-such-model")

    assert caught.value.code == "not_found"
    assert_context(caught.value)


def test_404_completing_with_an_unknown_model_names_the_param(client: Client):
    with pytest.raises(NotFoundError) as caught:
        client.inference.complete(model="no-such-model", prompt="hi")

    assert caught.value.param == "model"


def test_400_a_validation_error_names_the_field_in_param_and_details(client: Client):
    with pytest.raises(BadRequestError) as caught:
        client.inference.complete(model=FAKE, prompt="hi", max_tokens=0)

    error = caught.value
    assert (error.status, error.code, error.param) == (400, "invalid_request", "max_tokens")
    assert error.details is not None and error.details[0]["param"] == "max_tokens"
    assert_context(error)


def test_400_an_unknown_field_is_named_not_ignored(client: Client):
    with pytest.raises(BadRequestError) as caught:
        client.inference.complete(model=FAKE, prompt="hi", max_token=3)  # type: ignore[call-arg]

    assert caught.value.param == "max_token"


def test_429_over_a_one_per_second_token_without_retries():
    # Three at once cannot all fit in one-second windows of one request each.
    errors: list[BaseException] = []
    with Client(token=TOKENS["rate_one"], base_url=BASE_URL, max_retries=0) as limited:

        def call() -> None:
            try:
                limited.models.list()
            except RateLimitError as error:
                errors.append(error)

        threads = [threading.Thread(target=call) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors
    error = errors[0]
    assert isinstance(error, RateLimitError) and error.code == "rate_limited"
    assert_context(error)
    assert error.headers is not None and error.headers["x-ratelimit-remaining"] == "0"
    assert int(error.headers["retry-after-ms"]) > 0


def test_422_one_key_with_a_different_body_is_unprocessable(client: Client):
    key = f"sdk-py-{uuid.uuid4()}"
    client.inference.complete(model=FAKE, prompt="first", idempotency_key=key)

    with pytest.raises(UnprocessableEntityError) as caught:
        client.inference.complete(model=FAKE, prompt="second", idempotency_key=key)

    assert (caught.value.code, caught.value.param) == ("idempotency_key_reused", "Idempotency-Key")


def test_409_the_same_key_while_the_first_request_runs_is_a_conflict_without_retries(client: Client):
    key = f"sdk-py-{uuid.uuid4()}"
    first = threading.Thread(target=lambda: client.inference.complete(model=SLOW, prompt="slow", idempotency_key=key))
    first.start()
    time.sleep(0.5)  # the first request holds the key by now

    try:
        with pytest.raises(ConflictError) as caught:
            client.inference.complete(model=SLOW, prompt="slow", idempotency_key=key, max_retries=0)
    finally:
        first.join()

    assert caught.value.code == "idempotency_request_in_progress"


def test_a_stream_that_fails_before_its_200_raises_like_any_request(client: Client):
    with pytest.raises(NotFoundError):
        client.inference.complete_stream(model="no-such-model", prompt="hi")


def test_an_error_event_mid_stream_is_raised_as_the_typed_error_of_its_code(client: Client):
    stream = client.inference.chat_stream(model=FAILING, messages=[{"role": "user", "content": "two words"}])
    deltas: list[str] = []

    with pytest.raises(InternalServerError) as caught:
        for chunk in stream:
            deltas.append(chunk.delta)

    assert deltas == ["two", " words"]
    assert (caught.value.status, caught.value.code) == (502, "upstream_error")
    assert caught.value.request_id == stream.response_meta.request_id
    with pytest.raises(InternalServerError):
        stream.final()


@pytest.mark.anyio
async def test_async_an_error_event_mid_stream_is_raised_as_the_typed_error(async_client: AsyncClient):
    stream = await async_client.inference.complete_stream(model=FAILING, prompt="three more words")
    deltas: list[str] = []

    with pytest.raises(InternalServerError) as caught:
        async for chunk in stream:
            deltas.append(chunk.delta)

    assert deltas == ["three", " more"]
    assert caught.value.code == "upstream_error"
    with pytest.raises(InternalServerError):
        await stream.final()


def test_a_request_slower_than_timeout_is_a_connection_timeout_error(client: Client):
    with pytest.raises(APIConnectionTimeoutError) as caught:
        client.inference.complete(model=SLOW, prompt="too slow", timeout=0.2, max_retries=0)

    assert caught.value.status is None
