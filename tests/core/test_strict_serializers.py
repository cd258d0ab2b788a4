"""StrictSerializer builds its fields once per class and thread and binds them to each instance:
instances must still validate independently of each other."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from apps.inference.serializers import ChatCompletionRequestSerializer

GOOD = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}
BAD = {"model": "", "messages": [{"role": "robot", "content": 1}], "max_token": 3}


def test_instances_made_together_validate_apart() -> None:
    good, bad = ChatCompletionRequestSerializer(data=GOOD), ChatCompletionRequestSerializer(data=BAD)

    assert not bad.is_valid()
    assert good.is_valid(), good.errors
    assert good.validated_data["messages"] == [{"role": "user", "content": "hi"}]
    assert good.validated_data["max_tokens"] == 3 and good.validated_data["stream"] is False
    assert bad.errors == {"max_token": ["Unknown field."]}

    bad_fields = ChatCompletionRequestSerializer(data={**BAD, "max_tokens": 3})
    del bad_fields.initial_data["max_token"]
    assert not bad_fields.is_valid()
    assert set(bad_fields.errors) == {"model", "messages"}
    assert ChatCompletionRequestSerializer(data=GOOD).is_valid()  # nothing of the failure stayed behind


def test_each_instance_binds_the_fields_to_itself() -> None:
    first, second = ChatCompletionRequestSerializer(data=GOOD), ChatCompletionRequestSerializer(data=GOOD)

    assert first.fields["model"] is second.fields["model"]  # built once
    assert second.fields["model"].parent is second and second.fields["model"].root is second


def test_another_thread_builds_its_own() -> None:
    here = ChatCompletionRequestSerializer(data=GOOD).fields["model"]
    with ThreadPoolExecutor(1) as pool:
        there = pool.submit(lambda: ChatCompletionRequestSerializer(data=GOOD).fields["model"]).result()

    assert here is not there


def test_context_and_partial_are_refused() -> None:
    with pytest.raises(TypeError, match="shares its fields"):
        ChatCompletionRequestSerializer(data=GOOD, context={"request": None})
    with pytest.raises(TypeError, match="shares its fields"):
        ChatCompletionRequestSerializer(data=GOOD, partial=True)
