"""StrictSerializer builds its fields once per class and thread and binds them to each instance:
instances must still validate independently of each other. It runs only the fields that can give a
value: those the body names, and the required or defaulted ones."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from apps.core.strict_serializers import IntegerValue, StrictSerializer, TextField
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


ran: list[str] = []


class Recorded(IntegerValue):
    def run_validation(self, data: Any = None) -> Any:
        ran.append(self.field_name)
        return super().run_validation(data)


class Sample(StrictSerializer):
    name = TextField()
    size = Recorded(default=3)
    seed = Recorded(required=False)
    label = TextField(required=False)

    def validate_seed(self, value: int) -> int:
        ran.append("validate_seed")
        return value + 1


def test_an_absent_optional_field_is_not_run() -> None:
    ran.clear()
    body = Sample(data={"name": "a"})

    assert body.is_valid(), body.errors
    assert body.validated_data == {"name": "a", "size": 3}
    assert ran == ["size"]  # the defaulted field runs; `seed` is neither run nor its validate_seed


def test_the_fields_a_body_names_required_ones_and_their_methods_still_run() -> None:
    ran.clear()
    body = Sample(data={"name": "a", "seed": 4, "label": "x"})
    assert body.is_valid(), body.errors
    assert body.validated_data == {"name": "a", "size": 3, "seed": 5, "label": "x"}
    assert ran == ["size", "seed", "validate_seed"]

    missing = Sample(data={"seed": "4"})
    assert not missing.is_valid()
    assert set(missing.errors) == {"name", "seed"}  # the required field's error, the named one's
