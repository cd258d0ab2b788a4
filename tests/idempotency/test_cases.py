"""One test per case of docs/idempotency.md (numbers refer to its table)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.idempotency.models import IdempotencyRecord
from apps.usage.models import UsageRecord
from tests.support.envelope import assert_error, assert_rate_limit_headers
from tests.support.factories import make_fake_model, make_token

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"model": "fake-chat", "prompt": "hello world"}


@pytest.fixture(autouse=True)
def fake_model(transactional_db):
    make_fake_model("fake-chat", kind="chat", reply_tokens=4)


def post(api, token, key, body=BODY, **kw):
    return api.post("/v1/completions", token=token, json=body, headers={"Idempotency-Key": key}, **kw)


def test_1_no_header_executes_every_time(api, token):
    api.post("/v1/completions", token=token, json=BODY)
    api.post("/v1/completions", token=token, json=BODY)

    assert UsageRecord.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "a\tb", "line\nbreak"])
def test_2_invalid_key_is_400_and_nothing_stored(api, token, key):
    response = api.post("/v1/completions", token=token, json=BODY, headers={"Idempotency-Key": key.encode("utf-8")})

    assert_error(response, 400, "idempotency_key_invalid")
    assert UsageRecord.objects.count() == 0 and IdempotencyRecord.objects.count() == 0


def test_3_and_4_first_executes_retry_replays_byte_identical(api, token, clock):
    # `clock`: both requests in one rate-limit window, so Remaining must drop between them.
    first = post(api, token, "order-1")
    retry = post(api, token, "order-1")

    assert first.status_code == retry.status_code == 200
    assert retry.content == first.content
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert retry.headers["X-Request-Id"] == first.json()["meta"]["request_id"]
    assert_rate_limit_headers(retry)
    assert int(retry.headers["X-RateLimit-Remaining"]) < int(first.headers["X-RateLimit-Remaining"])
    assert UsageRecord.objects.count() == 1


def test_fingerprint_ignores_key_order_and_whitespace(api, token):
    post(api, token, "k", body={"model": "fake-chat", "prompt": "hello world"})
    retry = api.post(
        "/v1/completions",
        token=token,
        content=b'{ "prompt": "hello world",  "model": "fake-chat" }',
        headers={"Idempotency-Key": "k", "Content-Type": "application/json"},
    )
    assert retry.headers.get("Idempotent-Replayed") == "true"


def test_5_same_key_different_body_is_422(api, token):
    post(api, token, "k")
    assert_error(post(api, token, "k", body={**BODY, "prompt": "other"}), 422, "idempotency_key_reused")


def test_5_same_key_other_endpoint_is_422(api, token):
    post(api, token, "k")
    response = api.post("/v1/chat/completions", token=token, json=BODY, headers={"Idempotency-Key": "k"})
    assert_error(response, 422, "idempotency_key_reused")


def test_6_same_key_while_running_is_409(api, token):
    post(api, token, "k")
    IdempotencyRecord.objects.update(state="in_progress", response_body=None)

    error_response = post(api, token, "k")
    assert_error(error_response, 409, "idempotency_request_in_progress")
    assert error_response.headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    "body,status",
    [({"model": "fake-chat"}, 400), ({"model": "nope", "prompt": "x"}, 404)],
)
def test_7_rejections_before_execution_free_the_key(api, token, body, status):
    assert post(api, token, "k", body=body).status_code == status
    assert IdempotencyRecord.objects.count() == 0
    assert post(api, token, "k", body=BODY).status_code == 200  # the key is usable for a good request


def test_7_rate_limited_request_does_not_take_the_key(api, transactional_db, clock):
    issued = make_token(customer="slow", rate=1)
    api.get("/v1/models", token=issued.secret)

    assert_error(post(api, issued.secret, "k"), 429, "rate_limited")
    assert IdempotencyRecord.objects.count() == 0


def test_8_server_error_releases_the_key_and_a_retry_executes(api, token):
    make_fake_model("fake-chat", kind="chat", fail_after_tokens=0, fail_code="upstream_error")
    assert_error(post(api, token, "k"), 502, "upstream_error")
    assert IdempotencyRecord.objects.count() == 0

    make_fake_model("fake-chat", kind="chat", reply_tokens=4)
    assert post(api, token, "k").status_code == 200
    assert UsageRecord.objects.count() == 1


def test_9_crash_between_execution_and_commit_charges_once(api, token, monkeypatch):
    from apps.idempotency import services

    real_complete = services.idempotency_complete
    calls = {"n": 0}

    def crash_once(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("process died before commit")
        return real_complete(**kwargs)

    monkeypatch.setattr("apps.pipeline.settlement.idempotency_complete", crash_once)

    assert_error(post(api, token, "k"), 500, "internal_error")
    assert UsageRecord.objects.count() == 0  # the usage insert rolled back with the key's completion

    retry = post(api, token, "k")
    again = post(api, token, "k")
    assert retry.status_code == 200 and "Idempotent-Replayed" not in retry.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert UsageRecord.objects.count() == 1


def test_10_stale_in_progress_claim_is_taken_over(api, token, settings):
    post(api, token, "k")
    old = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS + 1)
    IdempotencyRecord.objects.update(state="in_progress", claimed_at=old)
    UsageRecord.objects.all().delete()  # as if the first process died before committing

    response = post(api, token, "k")
    assert response.status_code == 200 and "Idempotent-Replayed" not in response.headers
    assert UsageRecord.objects.count() == 1


def test_11_expired_key_is_new_again(api, token):
    post(api, token, "k")
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = post(api, token, "k", body={**BODY, "prompt": "a different request"})
    assert response.status_code == 200 and "Idempotent-Replayed" not in response.headers
    assert UsageRecord.objects.count() == 2


def test_12_replay_counts_against_the_rate_limit(api, transactional_db, clock):
    issued = make_token(customer="tight", rate=2)
    post(api, issued.secret, "k")
    post(api, issued.secret, "k")
    assert_error(post(api, issued.secret, "k"), 429, "rate_limited")


def test_14_two_customers_same_key_are_independent(api, token):
    other = make_token(customer="other").secret
    post(api, token, "shared")
    response = post(api, other, "shared")

    assert "Idempotent-Replayed" not in response.headers
    assert UsageRecord.objects.count() == 2


def test_15_get_ignores_the_header(api, token):
    response = api.get("/v1/models", token=token, headers={"Idempotency-Key": "\n"})
    assert response.status_code == 200


def test_prune_deletes_expired_records(api, token):
    from django.core.management import call_command

    post(api, token, "old")
    post(api, token, "new")
    IdempotencyRecord.objects.filter(key="old").update(expires_at=timezone.now() - timedelta(seconds=1))

    call_command("prune_idempotency_keys")
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
