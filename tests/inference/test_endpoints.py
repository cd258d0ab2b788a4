"""Completions, chat and embeddings at the HTTP boundary, on the deterministic fake backend."""

from __future__ import annotations

import pytest

from apps.models_registry.models import Model
from apps.usage.models import UsageRecord
from tests.support.envelope import assert_envelope, assert_error
from tests.support.factories import make_fake_model, make_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fake_models(transactional_db):
    make_fake_model("fake-chat", kind="chat", reply_tokens=5)
    make_fake_model("fake-embed", kind="embedding", dimensions=8)


def test_completion(api, token):
    response = api.post("/v1/completions", token=token, json={"model": "fake-chat", "prompt": "one two three"})

    data = assert_envelope(response)["data"]
    assert response.status_code == 200
    assert data["id"].startswith("cmpl_") and data["model"] == "fake-chat"
    assert data["choices"] == [{"index": 0, "text": "one two three one two", "finish_reason": "stop"}]
    assert data["usage"] == {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}


def test_chat_completion(api, token):
    body = {"model": "fake-chat", "messages": [{"role": "user", "content": "hi there"}], "max_tokens": 3}
    data = assert_envelope(api.post("/v1/chat/completions", token=token, json=body))["data"]

    assert data["id"].startswith("chatcmpl_")
    assert data["choices"][0]["message"] == {"role": "assistant", "content": "hi there hi"}
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 3


def test_embeddings_of_a_string_and_a_list(api, token):
    one = assert_envelope(api.post("/v1/embeddings", token=token, json={"model": "fake-embed", "input": "a"}))["data"]
    many = api.post("/v1/embeddings", token=token, json={"model": "fake-embed", "input": ["a", "b"]}).json()["data"]

    assert [item["index"] for item in many["items"]] == [0, 1]
    assert len(one["items"][0]["embedding"]) == 8
    assert many["items"][0]["embedding"] == one["items"][0]["embedding"]


def test_each_success_is_charged_once_and_reported_in_usage(api, token):
    for _ in range(2):
        api.post("/v1/completions", token=token, json={"model": "fake-chat", "prompt": "a b"})
    api.post("/v1/embeddings", token=token, json={"model": "fake-embed", "input": "x y z"})

    assert UsageRecord.objects.count() == 3
    items = api.get("/v1/usage", token=token).json()["data"]["items"]
    by_model = {item["model"]: item for item in items}
    assert by_model["fake-chat"]["requests"] == 2
    assert by_model["fake-chat"]["prompt_tokens"] == 4 and by_model["fake-chat"]["completion_tokens"] == 10
    assert by_model["fake-embed"]["total_tokens"] == 3


def test_usage_is_per_customer(api, token):
    api.post("/v1/completions", token=token, json={"model": "fake-chat", "prompt": "a"})
    other = make_token(customer="other").secret

    assert api.get("/v1/usage", token=other).json()["data"]["items"] == []


def test_usage_range_validation(api, token):
    error = assert_error(api.get("/v1/usage?start=2026-02-01&end=2026-01-01", token=token), 400, "invalid_request")
    assert error["param"] == "start"
    assert_error(api.get("/v1/usage?start=yesterday", token=token), 400, "invalid_request")


@pytest.mark.parametrize(
    "body,param",
    [
        ({"prompt": "hi"}, "model"),
        ({"model": "fake-chat"}, "prompt"),
        ({"model": "fake-chat", "prompt": ""}, "prompt"),
        ({"model": "fake-chat", "prompt": "hi", "max_tokens": -1}, "max_tokens"),
        ({"model": "fake-chat", "prompt": "hi", "max_tokens": 10**9}, "max_tokens"),
        ({"model": "fake-chat", "prompt": "hi", "max_tokens": 1.5}, "max_tokens"),
        ({"model": "fake-chat", "prompt": "hi", "max_tokens": "lots"}, "max_tokens"),
        ({"model": "fake-chat", "prompt": "hi", "temperature": 9}, "temperature"),
        ({"model": "fake-chat", "prompt": "hi", "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"model": "fake-chat", "prompt": "hi", "max_token": 5}, "max_token"),
        ({"model": "fake-chat", "prompt": "x" * 40_000}, "prompt"),
    ],
)
def test_completion_validation_names_the_param(api, token, body, param):
    error = assert_error(api.post("/v1/completions", token=token, json=body), 400, "invalid_request")

    assert error["param"] == param
    assert error["details"][0]["param"] == param
    assert UsageRecord.objects.count() == 0


@pytest.mark.parametrize(
    "messages,param",
    [
        ([], "messages"),
        ([{"role": "wizard", "content": "hi"}], "messages[0].role"),
        ([{"role": "user"}], "messages[0].content"),
        ([{"role": "user", "content": "hi", "name": "x"}], "messages[0].name"),
        ("hello", "messages"),
    ],
)
def test_chat_validation_names_the_param(api, token, messages, param):
    body = {"model": "fake-chat", "messages": messages}
    error = assert_error(api.post("/v1/chat/completions", token=token, json=body), 400, "invalid_request")
    assert error["param"] == param


@pytest.mark.parametrize("value", [[], "", [""] * 2, ["ok"] * 1000, [1, 2]])
def test_embeddings_input_limits(api, token, value):
    error = assert_error(
        api.post("/v1/embeddings", token=token, json={"model": "fake-embed", "input": value}), 400, "invalid_request"
    )
    assert error["param"].startswith("input")


def test_body_must_be_a_json_object(api, token):
    assert_error(api.post("/v1/completions", token=token, json=["model"]), 400, "invalid_request")


def test_malformed_json_is_invalid_json(api, token):
    response = api.post(
        "/v1/completions", token=token, content=b'{"model": "fake-chat", ', headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "invalid_json")


def test_wrong_content_type_is_415(api, token):
    response = api.post("/v1/completions", token=token, content=b"model=x", headers={"Content-Type": "text/plain"})
    assert_error(response, 415, "unsupported_media_type")


def test_unknown_disabled_wrong_kind_and_forbidden_models(api, token):
    Model.objects.create(id="off", kind="chat", backend="fake", enabled=False)
    scoped = make_token(customer="scoped")
    scoped.token.allowed_models.set(["fake-embed"])

    unknown = api.post("/v1/completions", token=token, json={"model": "nope", "prompt": "x"})
    disabled = api.post("/v1/completions", token=token, json={"model": "off", "prompt": "x"})
    wrong_kind = api.post("/v1/embeddings", token=token, json={"model": "fake-chat", "input": "x"})
    forbidden = api.post("/v1/completions", token=scoped.secret, json={"model": "fake-chat", "prompt": "x"})

    assert assert_error(unknown, 404, "not_found")["param"] == "model"
    assert_error(disabled, 404, "not_found")
    wrong = assert_error(wrong_kind, 400, "invalid_request")
    assert wrong["param"] == "model"
    assert wrong["message"] == "The model 'fake-chat' is a chat model; this endpoint needs an embedding model."
    assert_error(forbidden, 403, "permission_denied")
    assert UsageRecord.objects.count() == 0


@pytest.mark.parametrize("code,status", [("upstream_error", 502), ("upstream_timeout", 504), ("model_overloaded", 503)])
def test_backend_failures_map_to_their_status(api, token, code, status):
    make_fake_model("broken", kind="chat", fail_after_tokens=0, fail_code=code)

    assert_error(api.post("/v1/completions", token=token, json={"model": "broken", "prompt": "x"}), status, code)
    assert UsageRecord.objects.count() == 0
