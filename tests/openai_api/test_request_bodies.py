"""OpenAI's request bodies where a field takes several shapes (docs/openai-compatibility.md): each
shape openapi/openai.yaml states is accepted, anything else is a 400 naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from django.conf import settings

from apps.openai_api.serializers import (
    OpenAIChatCompletionCreateSerializer,
    OpenAICompletionCreateSerializer,
    OpenAIEmbeddingCreateSerializer,
)

TOO_LONG = "x" * (settings.INFERENCE_MAX_PROMPT_CHARS + 1)
DOCUMENT = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi" / "openai.yaml").read_text())
SCHEMAS = DOCUMENT["components"]["schemas"]


def stated(component: str, field: str, value: Any) -> bool:
    """Whether openapi/openai.yaml's schema of that field takes `value`."""
    try:
        jsonschema.validate(value, SCHEMAS[component]["properties"][field])
    except jsonschema.ValidationError:
        return False
    return True


CONTENT_TOO_LONG_IN_ALL = [{"type": "text", "text": TOO_LONG[:-2]}, {"type": "text", "text": "xx"}]


def chat(content: Any) -> OpenAIChatCompletionCreateSerializer:
    return OpenAIChatCompletionCreateSerializer(data={"model": "m", "messages": [{"role": "user", "content": content}]})


@pytest.mark.parametrize(
    "content,text",
    [
        ("hello", "hello"),
        ("", ""),
        ([{"type": "text", "text": "hel"}, {"type": "text", "text": "lo"}], "hello"),
    ],
)
def test_message_content_a_string_or_text_parts(content: Any, text: str) -> None:
    body = chat(content)
    assert body.is_valid(), body.errors
    assert body.to_request().messages[0].content == text
    assert stated("OpenAIMessage", "content", content)


@pytest.mark.parametrize(
    "content",
    [
        None,
        42,
        [],
        ["hello"],
        [{"type": "image_url", "image_url": {"url": "http://x"}}],
        [{"type": "text", "text": "a", "extra": 1}],
        TOO_LONG,
        CONTENT_TOO_LONG_IN_ALL,
    ],
)
def test_other_message_contents_are_refused_naming_messages(content: Any) -> None:
    body = chat(content)
    assert not body.is_valid()
    assert set(body.errors) == {"messages"}
    if content != CONTENT_TOO_LONG_IN_ALL:  # a sum over parts: the document says it in words
        assert not stated("OpenAIMessage", "content", content)


@pytest.mark.parametrize(
    "prompt,refused", [("hi", False), (["hi"], False), (["a", "b"], True), ([1, 2], True), ("", True)]
)
def test_prompt_a_string_or_a_list_of_one(prompt: Any, refused: bool) -> None:
    body = OpenAICompletionCreateSerializer(data={"model": "m", "prompt": prompt})
    assert body.is_valid() is not refused
    assert stated("OpenAICompletionCreate", "prompt", prompt) is not refused
    if refused:
        assert set(body.errors) == {"prompt"}
    else:
        assert body.to_request().prompt == "hi"


@pytest.mark.parametrize(
    "given,texts",
    [("one", ["one"]), (["one", "two"], ["one", "two"]), ([], None), ([[1, 2]], None), (["ok", ""], None)],
)
def test_embedding_input_a_string_or_strings(given: Any, texts: list[str] | None) -> None:
    body = OpenAIEmbeddingCreateSerializer(data={"model": "m", "input": given})
    assert body.is_valid() is (texts is not None)
    assert stated("OpenAIEmbeddingCreate", "input", given) is (texts is not None)
    if texts is None:
        assert set(body.errors) == {"input"}
    else:
        assert body.to_request().inputs == texts


@pytest.mark.parametrize(
    "bias,refused",
    [({"50256": -100}, False), ({}, False), ({"x": 1.0}, True), ({"-1": 1.0}, True), ({"12": 101}, True)],
)
def test_logit_bias_maps_token_ids_to_a_bias(bias: dict[str, float], refused: bool) -> None:
    """Regression (schema fuzzing): the document took any key, the validation only token ids."""
    for component, serializer in [
        ("OpenAIChatCompletionCreate", chat("hi")),
        ("OpenAICompletionCreate", OpenAICompletionCreateSerializer(data={"model": "m", "prompt": "hi"})),
    ]:
        body = serializer.__class__(data={**serializer.initial_data, "logit_bias": bias})
        assert body.is_valid() is not refused
        assert stated(component, "logit_bias", bias) is not refused
        if refused:
            assert set(body.errors) == {"logit_bias"}
