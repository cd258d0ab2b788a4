"""Request and response shapes of the inference endpoints. OpenAI's field names where they exist
(docs/api-contract.md). Class names become the schema's component names and the SDK's type names."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.strict_serializers import BooleanValue, FloatValue, IntegerValue, StrictSerializer, TextField

MAX_STOP_SEQUENCES = 4
MAX_STOP_CHARS = 64


def string_or_strings(*, max_chars: int, max_items: int, min_items: int = 0) -> dict[str, Any]:
    """The schema of a field that takes one string or a list of them, with the bounds the server
    enforces, so that clients (and the fuzzer) know them."""
    string = {"type": "string", "minLength": 1, "maxLength": max_chars}
    strings = {"type": "array", "items": string, "minItems": min_items, "maxItems": max_items}
    return {"oneOf": [string, strings]}


@extend_schema_field(
    {
        **string_or_strings(max_chars=MAX_STOP_CHARS, max_items=MAX_STOP_SEQUENCES),
        "description": "A string or up to 4 strings that end the generation.",
    }
)
class StopField(serializers.ListField):
    """`stop`: one string or a list of up to four."""

    def to_internal_value(self, data: Any) -> list[str]:
        return super().to_internal_value([data] if isinstance(data, str) else data)


class GenerationFields(StrictSerializer):
    # Not trimmed: a model id is exact, and " " is then an unknown model, not a blank field.
    model = TextField(min_length=1, max_length=100, trim_whitespace=False)
    max_tokens = IntegerValue(min_value=1, max_value=4096, default=128)
    temperature = FloatValue(min_value=0.0, max_value=2.0, required=False)
    top_p = FloatValue(min_value=0.0, max_value=1.0, required=False)
    stop = StopField(
        child=TextField(max_length=MAX_STOP_CHARS, trim_whitespace=False),
        max_length=MAX_STOP_SEQUENCES,
        required=False,
        help_text="A string or up to 4 strings that end the generation.",
    )
    seed = IntegerValue(min_value=0, max_value=2**31 - 1, required=False)
    stream = BooleanValue(default=False, help_text="Answer with Server-Sent Events.")


class CompletionRequestSerializer(GenerationFields):
    prompt = TextField(min_length=1, max_length=settings.INFERENCE_MAX_PROMPT_CHARS, trim_whitespace=False)


class ChatMessageSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=["system", "user", "assistant"])
    # May be empty, in a request as in an answer (this serializer is the answer's message too).
    content = TextField(max_length=settings.INFERENCE_MAX_PROMPT_CHARS, trim_whitespace=False, allow_blank=True)


class ChatCompletionRequestSerializer(GenerationFields):
    # A ListField, not `many=True`: its length bounds reach the schema (minItems, maxItems).
    messages = serializers.ListField(
        child=ChatMessageSerializer(), min_length=1, max_length=settings.INFERENCE_MAX_MESSAGES
    )


@extend_schema_field(
    {
        **string_or_strings(
            max_chars=settings.INFERENCE_MAX_EMBEDDING_CHARS,
            max_items=settings.INFERENCE_MAX_EMBEDDING_INPUTS,
            min_items=1,
        ),
        "description": "A string or a list of strings to embed.",
    }
)
class EmbeddingInputField(serializers.ListField):
    """`input`: one string or a list of strings."""

    def to_internal_value(self, data: Any) -> list[str]:
        return super().to_internal_value([data] if isinstance(data, str) else data)


class EmbeddingRequestSerializer(StrictSerializer):
    model = TextField(min_length=1, max_length=100, trim_whitespace=False)
    input = EmbeddingInputField(
        child=TextField(max_length=settings.INFERENCE_MAX_EMBEDDING_CHARS, trim_whitespace=False),
        allow_empty=False,
        max_length=settings.INFERENCE_MAX_EMBEDDING_INPUTS,
        help_text="A string or a list of strings to embed.",
    )


class UsageSerializer(serializers.Serializer[dict[str, Any]]):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()


class CompletionChoiceSerializer(serializers.Serializer[dict[str, Any]]):
    index = serializers.IntegerField()
    text = serializers.CharField()
    finish_reason = serializers.ChoiceField(choices=["stop", "length", "cancelled"])


class CompletionSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.CharField(help_text="`cmpl_…`")
    model = serializers.CharField()
    created_at = serializers.DateTimeField()
    choices = CompletionChoiceSerializer(many=True)
    usage = UsageSerializer()


class ChatChoiceSerializer(serializers.Serializer[dict[str, Any]]):
    index = serializers.IntegerField()
    message = ChatMessageSerializer()
    finish_reason = serializers.ChoiceField(choices=["stop", "length", "cancelled"])


class ChatCompletionSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.CharField(help_text="`chatcmpl_…`")
    model = serializers.CharField()
    created_at = serializers.DateTimeField()
    choices = ChatChoiceSerializer(many=True)
    usage = UsageSerializer()


class EmbeddingSerializer(serializers.Serializer[dict[str, Any]]):
    index = serializers.IntegerField()
    embedding = serializers.ListField(child=serializers.FloatField())


class EmbeddingListSerializer(serializers.Serializer[dict[str, Any]]):
    model = serializers.CharField()
    items = EmbeddingSerializer(many=True)
    usage = UsageSerializer()
