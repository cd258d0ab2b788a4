"""Regression tests for what schema fuzzing found: the schema must state the bounds the server
enforces, or clients (and the SDK's users) send requests that the schema calls valid and the
server refuses. Each bound is read from the committed schema and tried at the edge, both sides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.envelope import assert_error
from tests.support.factories import make_fake_model

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi" / "schema.yaml").read_text())
COMPONENTS = SCHEMA["components"]["schemas"]


@pytest.fixture(autouse=True)
def fake_models(transactional_db):
    make_fake_model("fake-chat", kind="chat", reply_tokens=1)
    make_fake_model("fake-embed", kind="embedding", dimensions=2)


def prop(component: str, name: str) -> dict[str, Any]:
    return COMPONENTS[component]["properties"][name]


def edges(bound: dict[str, Any], low: str, high: str) -> list[tuple[int, bool]]:
    """(size, accepted) just inside and just outside a schema's bounds."""
    cases = [(bound[high], True), (bound[high] + 1, False)]
    if bound.get(low, 0) > 0:
        cases += [(bound[low], True), (bound[low] - 1, False)]
    return cases


CHAT = {"model": "fake-chat", "messages": [{"role": "user", "content": "x"}]}
STRING_BOUNDS = [
    ("/v1/completions", prop("CompletionRequest", "prompt"), lambda n: {"model": "fake-chat", "prompt": "p" * n}),
    ("/v1/completions", prop("CompletionRequest", "model"), lambda n: {"model": "m" * n, "prompt": "x"}),
    ("/v1/chat/completions", prop("ChatCompletionRequest", "stop")["oneOf"][0], lambda n: {**CHAT, "stop": "s" * n}),
    (
        "/v1/embeddings",
        prop("EmbeddingRequest", "input")["oneOf"][0],
        lambda n: {"model": "fake-embed", "input": "i" * n},
    ),
]
LIST_BOUNDS = [
    (
        "/v1/chat/completions",
        prop("ChatCompletionRequest", "messages"),
        lambda n: {**CHAT, "messages": CHAT["messages"] * n},
    ),
    ("/v1/chat/completions", prop("ChatCompletionRequest", "stop")["oneOf"][1], lambda n: {**CHAT, "stop": ["s"] * n}),
    (
        "/v1/embeddings",
        prop("EmbeddingRequest", "input")["oneOf"][1],
        lambda n: {"model": "fake-embed", "input": ["i"] * n},
    ),
]


@pytest.mark.parametrize("path,bound,body", STRING_BOUNDS)
def test_string_bounds_in_the_schema_are_the_servers(api, token, path, bound, body):
    for size, accepted in edges(bound, "minLength", "maxLength"):
        response = api.post(path, token=token, json=body(size))
        # A model id of legal length that names nothing is a 404: the length itself was accepted.
        assert (response.status_code in (200, 404)) is accepted, (size, response.text[:200])


@pytest.mark.parametrize("path,bound,body", LIST_BOUNDS)
def test_list_bounds_in_the_schema_are_the_servers(api, token, path, bound, body):
    for size, accepted in edges(bound, "minItems", "maxItems"):
        response = api.post(path, token=token, json=body(size))
        assert (response.status_code == 200) is accepted, (size, response.text[:200])


@pytest.mark.parametrize("component", ["CompletionRequest", "ChatCompletionRequest", "EmbeddingRequest", "ChatMessage"])
def test_the_schema_says_unknown_fields_are_refused(api, token, component):
    assert COMPONENTS[component]["additionalProperties"] is False


def test_page_size_bounds_and_empty_query_values_are_documented(api, token):
    parameters = {p["name"]: p for p in SCHEMA["paths"]["/v1/models"]["get"]["parameters"]}
    limit = parameters["limit"]

    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)
    assert limit["allowEmptyValue"] and parameters["cursor"]["allowEmptyValue"]
    assert api.get("/v1/models?limit=&cursor=", token=token).status_code == 200  # empty = not given
    assert api.get("/v1/usage?start=&end=", token=token).status_code == 200
    assert_error(api.get("/v1/models?limit=101", token=token), 400, "invalid_request")


@pytest.mark.parametrize("path", ["/v1/completions", "/v1/chat/completions"])
def test_a_stream_is_documented_event_by_event(path):
    content = SCHEMA["paths"][path]["post"]["responses"]["200"]["content"]["text/event-stream"]["schema"]

    assert content["type"] == "object" and content["required"] == ["event", "data"]
