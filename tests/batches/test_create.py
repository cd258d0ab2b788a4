"""POST /v1/batches: validation of every item up front, limits, idempotent creation."""

from __future__ import annotations

import pytest

from apps.batches.models import BatchItem, BatchJob
from apps.idempotency.models import IdempotencyRecord
from apps.models_registry.models import Model
from tests.support.envelope import assert_envelope, assert_error, assert_rate_limit_headers
from tests.support.factories import make_token

from .builders import chat_item, completion_item, create_batch, embed_item

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_returns_a_queued_batch(api, token):
    response = api.post(
        "/v1/batches",
        token=token,
        json={"requests": [chat_item("a"), embed_item("b"), completion_item("c")], "metadata": {"job": "nightly"}},
    )

    assert response.status_code == 201
    assert_rate_limit_headers(response)
    data = assert_envelope(response)["data"]
    assert data["id"].startswith("batch_") and len(data["id"]) == len("batch_") + 24
    assert data["status"] == "queued"
    assert data["counts"] == {"total": 3, "completed": 0, "failed": 0, "cancelled": 0}
    assert data["metadata"] == {"job": "nightly"}
    assert data["error"] is None and data["started_at"] is None and data["finished_at"] is None
    assert list(BatchItem.objects.order_by("index").values_list("custom_id", "status")) == [
        ("a", "pending"),
        ("b", "pending"),
        ("c", "pending"),
    ]


def test_items_are_stored_as_their_endpoint_validated_them(api, token):
    create_batch(api, token, [chat_item("a", stop="END"), embed_item("b")])

    chat, embed = BatchItem.objects.order_by("index")
    assert chat.body["max_tokens"] == 128 and chat.body["stop"] == ["END"] and "stream" not in chat.body
    assert embed.body["input"] == ["embed me"]


@pytest.mark.parametrize(
    "bad,param",
    [
        (chat_item("x", max_tokens=0), "requests[1].body.max_tokens"),
        (chat_item("x", max_token=5), "requests[1].body.max_token"),
        (chat_item("x", messages=[{"role": "wizard", "content": "hi"}]), "requests[1].body.messages[0].role"),
        (chat_item("x", stream=True), "requests[1].body.stream"),
        (chat_item("x", model="nope"), "requests[1].body.model"),
        (chat_item("x", model="fake-embed"), "requests[1].body.model"),
        (embed_item("x", model="fake-chat"), "requests[1].body.model"),
        (embed_item("x", text=""), "requests[1].body.input[0]"),
        ({"custom_id": "x", "endpoint": "/v1/models", "body": {}}, "requests[1].endpoint"),
        ({"custom_id": "x", "endpoint": "/v1/embeddings", "body": "text"}, "requests[1].body"),
        ({"endpoint": "/v1/embeddings", "body": {}}, "requests[1].custom_id"),
        (embed_item("a"), "requests[1].custom_id"),  # a duplicate of requests[0]
    ],
)
def test_one_bad_item_rejects_the_batch_and_is_named(api, token, bad, param):
    response = create_batch(api, token, [embed_item("a"), bad, chat_item("c")])

    error = assert_error(response, 400, "invalid_request")
    assert error["param"] == param, error
    assert [detail["param"] for detail in error["details"]] == [param]
    assert BatchJob.objects.count() == 0 and BatchItem.objects.count() == 0


def test_every_bad_item_is_listed(api, token):
    requests = [chat_item("a", max_tokens=0), embed_item("b"), embed_item("c", model="nope"), chat_item("a")]

    error = assert_error(create_batch(api, token, requests), 400, "invalid_request")

    assert [detail["param"] for detail in error["details"]] == [
        "requests[0].body.max_tokens",
        "requests[2].body.model",
        "requests[3].custom_id",
    ]
    assert "requests[0]" in error["details"][2]["message"]


def test_a_model_the_token_may_not_use_is_a_bad_item(api, transactional_db):
    issued = make_token(customer="scoped")
    issued.token.allowed_models.set([Model.objects.get(id="fake-embed")])

    error = assert_error(create_batch(api, issued.secret, [embed_item("a"), chat_item("b")]), 400, "invalid_request")

    assert error["param"] == "requests[1].body.model"
    assert "may not use" in error["message"]


@pytest.mark.parametrize("body", [{"requests": []}, {"requests": "x"}, {}, {"requests": [], "extra": 1}])
def test_malformed_batch_is_400(api, token, body):
    assert_error(api.post("/v1/batches", token=token, json=body), 400, "invalid_request")


def test_count_limit(api, token, settings):
    settings.BATCH_MAX_REQUESTS = 3

    error = assert_error(create_batch(api, token, [embed_item(str(i)) for i in range(4)]), 400, "invalid_request")

    assert error["param"] == "requests" and "at most 3" in error["message"]
    assert create_batch(api, token, [embed_item(str(i)) for i in range(3)]).status_code == 201


def test_size_limit(api, token, settings):
    settings.BATCH_MAX_BYTES = 2000

    assert_error(create_batch(api, token, [embed_item("a", text="x" * 3000)]), 413, "payload_too_large")
    assert BatchJob.objects.count() == 0


def test_metadata_limits(api, token):
    too_many = {str(i): "v" for i in range(17)}
    response = api.post("/v1/batches", token=token, json={"requests": [embed_item("a")], "metadata": too_many})

    assert assert_error(response, 400, "invalid_request")["param"] == "metadata"


def test_same_idempotency_key_returns_the_same_batch(api, token):
    body = {"requests": [chat_item("a"), embed_item("b")]}
    first = api.post("/v1/batches", token=token, json=body, headers={"Idempotency-Key": "nightly-1"})
    retry = api.post("/v1/batches", token=token, json=body, headers={"Idempotency-Key": "nightly-1"})

    assert first.status_code == retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.content == first.content
    assert BatchJob.objects.count() == 1 and BatchItem.objects.count() == 2


def test_same_idempotency_key_with_other_requests_is_422(api, token):
    api.post("/v1/batches", token=token, json={"requests": [embed_item("a")]}, headers={"Idempotency-Key": "k"})
    other = api.post("/v1/batches", token=token, json={"requests": [embed_item("b")]}, headers={"Idempotency-Key": "k"})

    assert_error(other, 422, "idempotency_key_reused")
    assert BatchJob.objects.count() == 1


def test_retry_after_a_crash_before_the_key_completed_finds_the_batch(api, token):
    body = {"requests": [embed_item("a")]}
    first = api.post("/v1/batches", token=token, json=body, headers={"Idempotency-Key": "k"}).json()["data"]
    # As if the process died after the batch committed and before the key's completion did: the
    # claim is still in progress and stale, so a retry takes it over and executes again.
    IdempotencyRecord.objects.update(state="in_progress", claimed_at="2000-01-01T00:00:00Z")

    retry = api.post("/v1/batches", token=token, json=body, headers={"Idempotency-Key": "k"})

    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert retry.json()["data"]["id"] == first["id"]
    assert BatchJob.objects.count() == 1
