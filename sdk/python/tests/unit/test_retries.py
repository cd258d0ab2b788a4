"""What is retried, how long the SDK waits first (the server's hints, then backoff), and one
Idempotency-Key per call, reused by all of its attempts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from inference_platform_sdk import (
    APIConnectionError,
    APIConnectionTimeoutError,
    BadRequestError,
    InternalServerError,
    RateLimitError,
    UnprocessableEntityError,
)
from inference_platform_sdk._retry import backoff, retry_delay, server_delay

from .scripted import COMPLETION, USAGE, Script, event, failure, model, ok, sse

NOW = 1_900_000_000.0


def headers(**values: str) -> httpx.Headers:
    return httpx.Headers({name.replace("_", "-"): value for name, value in values.items()})


class TestServerDelay:
    def test_retry_after_ms_comes_first(self):
        assert server_delay(headers(retry_after_ms="250", retry_after="3"), now=NOW) == 0.25

    def test_then_retry_after_in_seconds(self):
        assert server_delay(headers(retry_after="3", x_ratelimit_reset="9", x_ratelimit_remaining="0"), now=NOW) == 3

    def test_retry_after_may_be_an_http_date(self):
        when = datetime.fromtimestamp(NOW, tz=timezone.utc) + timedelta(seconds=7)

        assert server_delay(headers(retry_after=format_datetime(when, usegmt=True)), now=NOW) == 7

    def test_then_the_rate_limit_reset_once_the_window_is_used_up(self):
        assert server_delay(headers(x_ratelimit_reset="2", x_ratelimit_remaining="0"), now=NOW) == 2
        assert server_delay(headers(x_ratelimit_reset="2", x_ratelimit_remaining="3"), now=NOW) is None

    def test_garbage_is_no_hint(self):
        assert server_delay(headers(retry_after_ms="soon", retry_after="later"), now=NOW) is None


class TestRetryDelay:
    def test_a_hint_is_waited_at_least_and_at_most_ten_percent_longer(self):
        error = RateLimitError("429", status=429, headers=headers(retry_after_ms="400"))

        low = retry_delay(error, retries_so_far=0, max_retries=2, stream=False, random=lambda: 0.0)
        high = retry_delay(error, retries_so_far=0, max_retries=2, stream=False, random=lambda: 1.0)

        assert low == 0.4
        assert high == pytest.approx(0.44)

    def test_a_hint_over_a_minute_falls_back_to_backoff(self):
        error = RateLimitError("429", status=429, headers=headers(retry_after="3600"))

        assert retry_delay(error, retries_so_far=0, max_retries=2, stream=False, random=lambda: 0.0) == 0.5

    def test_backoff_doubles_up_to_eight_seconds_less_up_to_a_quarter(self):
        assert [backoff(n, random=lambda: 0.0) for n in range(6)] == [0.5, 1, 2, 4, 8, 8]
        assert backoff(0, random=lambda: 1.0) == 0.375

    @pytest.mark.parametrize(
        ("error", "stream", "retried"),
        [
            (APIConnectionError("reset"), False, True),
            (APIConnectionError("reset"), True, True),
            (APIConnectionTimeoutError("slow"), False, True),
            (RateLimitError("429", status=429), False, True),
            (RateLimitError("429", status=429), True, False),
            (InternalServerError("503", status=503), False, True),
            (InternalServerError("503", status=503), True, False),
            (BadRequestError("400", status=400), False, False),
            (UnprocessableEntityError("422", status=422, code="idempotency_key_reused"), False, False),
        ],
    )
    def test_what_is_retried(self, error, stream, retried):
        delay = retry_delay(error, retries_so_far=0, max_retries=2, stream=stream)

        assert (delay is not None) is retried

    def test_409_is_retried_only_while_the_same_key_is_in_progress(self):
        in_progress = failure(409, "idempotency_request_in_progress")
        script = Script(in_progress, ok(COMPLETION))

        result = script.client().inference.complete(model="m", prompt="p")

        assert result.response_meta is not None and result.response_meta.attempts == 2

    def test_no_retry_once_max_retries_is_used_up(self):
        error = InternalServerError("503", status=503)

        assert retry_delay(error, retries_so_far=2, max_retries=2, stream=False) is None


def test_a_post_retries_with_one_idempotency_key_and_waits_as_each_answer_says(sleeps):
    script = Script(
        failure(429, "rate_limited", headers={"retry-after-ms": "250", "x-ratelimit-remaining": "0"}),
        failure(503, "model_overloaded", headers={"retry-after": "1"}),
        ok(COMPLETION),
    )

    result = script.client().inference.complete(model="m", prompt="p")

    keys = script.keys()
    assert len(keys) == 3 and keys[0] and len(set(keys)) == 1
    assert result.response_meta is not None
    assert (result.response_meta.idempotency_key, result.response_meta.attempts) == (keys[0], 3)
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.275 and 1.0 <= sleeps[1] <= 1.1


def test_each_call_gets_its_own_key_unless_the_caller_gives_one():
    script = Script(ok(COMPLETION), ok(COMPLETION), ok(COMPLETION))
    client = script.client()

    client.inference.complete(model="m", prompt="p")
    client.inference.complete(model="m", prompt="p")
    client.inference.complete(model="m", prompt="p", idempotency_key="my-key")

    first, second, mine = script.keys()
    assert first and second and first != second
    assert mine == "my-key"


def test_a_connection_error_is_retried_then_raised_after_max_retries(sleeps):
    script = Script(*[httpx.ConnectError("refused")] * 3)

    with pytest.raises(APIConnectionError, match="refused"):
        script.client(max_retries=2).inference.complete(model="m", prompt="p")

    assert len(script.requests) == 3 and len(set(script.keys())) == 1
    assert len(sleeps) == 2  # backoff: no hint without an answer
    assert 0.375 <= sleeps[0] <= 0.5 and 0.75 <= sleeps[1] <= 1.0


def test_max_retries_per_call_overrides_the_clients():
    script = Script(failure(503, "model_overloaded"))

    with pytest.raises(InternalServerError):
        script.client(max_retries=5).inference.complete(model="m", prompt="p", max_retries=0)

    assert len(script.requests) == 1


def test_a_timeout_is_an_api_connection_timeout_error():
    script = Script(httpx.ReadTimeout("slow"))

    with pytest.raises(APIConnectionTimeoutError):
        script.client(max_retries=0).models.get("m")


def test_the_timeout_reaches_the_transport_per_client_and_per_call():
    script = Script(ok(model("m")), ok(model("m")))
    client = script.client(timeout=12.5)

    client.models.get("m")
    client.models.get("m", timeout=3)

    assert [r.extensions["timeout"]["read"] for r in script.requests] == [12.5, 3]


def test_gets_are_retried_and_carry_no_idempotency_key():
    script = Script(httpx.ConnectError("reset"), ok(model("m")))

    result = script.client().models.get("m")

    assert script.keys() == [None, None]
    assert result.response_meta is not None and result.response_meta.attempts == 2


def test_a_stream_answered_with_an_http_error_is_not_retried():
    script = Script(failure(503, "model_overloaded"))

    with pytest.raises(InternalServerError):
        script.client().inference.complete_stream(model="m", prompt="p")

    assert len(script.requests) == 1


def test_a_stream_whose_connection_failed_before_any_answer_is_retried_with_its_key():
    done = event("done", {"finish_reason": "stop", "usage": USAGE})
    script = Script(httpx.ConnectError("refused"), sse(done))

    stream = script.client().inference.complete_stream(model="m", prompt="p")

    assert stream.final().finish_reason == "stop"
    assert stream.response_meta.attempts == 2
    first, second = script.keys()
    assert first is not None and first == second
