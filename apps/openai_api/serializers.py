"""OpenAI's request bodies, validated, and turned into the same typed requests `/v1` runs.

What the official clients send routinely is accepted; a parameter the engines here cannot honour
(`n` > 1, tools, log probabilities, images, …) is refused with a 400 naming it, never ignored.
docs/openai-compatibility.md has the table. Response serializers are here for the OpenAPI
document only: the shape (shapes.py) builds the answers.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.backends.base import ChatMessage, GenerationParams
from apps.core.strict_serializers import BooleanValue, FloatValue, IntegerValue, StrictSerializer, TextField
from apps.inference.requests import ChatRequest, CompletionRequest, EmbeddingRequest
from apps.inference.serializers import MAX_STOP_CHARS, MAX_STOP_SEQUENCES, StopField, string_or_strings
from apps.models_registry.models import API_MAX_OUTPUT_TOKENS

MAX_OUTPUT_TOKENS = API_MAX_OUTPUT_TOKENS
USER_MAX_CHARS = 256

# Parameters of OpenAI's API that no engine here implements, and the values that ask for nothing
# (a client may send those): anything else is a 400 naming the parameter.
UNSUPPORTED_CHAT = {
    "tools": (None, []),
    "tool_choice": (None, "none"),
    "parallel_tool_calls": (None, False, True),  # only means something with tools
    "functions": (None, []),
    "function_call": (None, "none"),
    "response_format": (None, {"type": "text"}),
    "logprobs": (None, False),
    "top_logprobs": (None, 0),
    "audio": (None,),
    "modalities": (None, ["text"]),
    "prediction": (None,),
    "reasoning_effort": (None,),
    "web_search_options": (None,),
    "store": (None, False),
    "metadata": (None, {}),
    "service_tier": (None, "auto", "default"),
}
UNSUPPORTED_COMPLETION = {
    "echo": (None, False),
    "best_of": (None, 1),
    "suffix": (None, ""),
    "logprobs": (None, 0),
}


def _refuse_unsupported(data: Any, parameters: dict[str, tuple[Any, ...]]) -> None:
    if not isinstance(data, dict):
        return
    for name, neutral in parameters.items():
        if name in data and data[name] not in neutral:
            raise serializers.ValidationError(
                {name: [f"`{name}` is not supported by this server; leave it out (docs/openai-compatibility.md)."]}
            )


class _CheckedBySerializer(serializers.Field[Any, Any, Any, Any]):
    """A JSON value of one of several shapes, checked by its serializer's `validate_<name>`; each
    subclass states the shapes for the schema. (DRF's JSONField would encode the value to JSON
    first, to check what a parsed body already is.)"""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


PROMPT_CHARS = settings.INFERENCE_MAX_PROMPT_CHARS
TEXT_PART = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["text"]},
        "text": {"type": "string", "maxLength": PROMPT_CHARS},
    },
    "required": ["type", "text"],
    "additionalProperties": False,
}


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "maxLength": PROMPT_CHARS},
            {"type": "array", "items": TEXT_PART, "minItems": 1},
        ],
        "description": f"A string, or a list of text parts; at most {PROMPT_CHARS} characters in all.",
    }
)
class OpenAIContentField(_CheckedBySerializer):
    pass


@extend_schema_field(
    {
        **string_or_strings(max_chars=PROMPT_CHARS, max_items=1, min_items=1),
        "description": "A string, or a list holding one string (no token arrays).",
    }
)
class OpenAIPromptField(_CheckedBySerializer):
    pass


@extend_schema_field(
    {
        **string_or_strings(
            max_chars=settings.INFERENCE_MAX_EMBEDDING_CHARS,
            max_items=settings.INFERENCE_MAX_EMBEDDING_INPUTS,
            min_items=1,
        ),
        "description": "A string or a list of strings to embed (no token arrays).",
    }
)
class OpenAIInputField(_CheckedBySerializer):
    pass


@extend_schema_field(
    {
        "type": "object",
        "propertyNames": {"type": "string", "pattern": "^[0-9]+$"},
        "additionalProperties": {"type": "number", "format": "double", "minimum": -100, "maximum": 100},
        "description": "Token ids (integers as strings) to a bias from -100 to 100.",
    }
)
class LogitBiasField(serializers.DictField):
    """Its keys are token ids, checked here and stated in the schema."""

    default_error_messages = {"token_ids": "Keys are token ids (integers as strings)."}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        value: dict[str, Any] = super().to_internal_value(data)
        if not all(key.isascii() and key.isdigit() for key in value):
            self.fail("token_ids")
        return value


class StreamOptionsSerializer(StrictSerializer):
    include_usage = BooleanValue(required=False, help_text="Send a last chunk with the usage.")


class SamplingFields(StrictSerializer):
    model = TextField(min_length=1, max_length=100, trim_whitespace=False)
    max_tokens = IntegerValue(min_value=1, max_value=MAX_OUTPUT_TOKENS, required=False, allow_null=True)
    temperature = FloatValue(min_value=0.0, max_value=2.0, required=False, allow_null=True)
    top_p = FloatValue(min_value=0.0, max_value=1.0, required=False, allow_null=True)
    n = IntegerValue(
        min_value=1,
        max_value=1,
        required=False,
        allow_null=True,
        error_messages={"max_value": "Only n=1 is supported: this server generates one choice per request."},
        help_text="Only 1: one choice per request.",
    )
    stream = BooleanValue(required=False, allow_null=True)
    stream_options = StreamOptionsSerializer(required=False, allow_null=True)
    stop = StopField(
        child=TextField(max_length=MAX_STOP_CHARS, trim_whitespace=False),
        max_length=MAX_STOP_SEQUENCES,
        required=False,
        allow_null=True,
    )
    seed = IntegerValue(min_value=0, max_value=2**63 - 1, required=False, allow_null=True)
    presence_penalty = FloatValue(min_value=-2.0, max_value=2.0, required=False, allow_null=True)
    frequency_penalty = FloatValue(min_value=-2.0, max_value=2.0, required=False, allow_null=True)
    logit_bias = LogitBiasField(
        child=FloatValue(min_value=-100.0, max_value=100.0), required=False, allow_null=True, allow_empty=True
    )
    user = TextField(max_length=USER_MAX_CHARS, required=False, allow_blank=True, help_text="Logged with the request.")

    unsupported: dict[str, tuple[Any, ...]] = {}
    default_max_tokens = 128

    def to_internal_value(self, data: Any) -> Any:
        _refuse_unsupported(data, self.unsupported)
        if isinstance(data, dict):
            data = {key: value for key, value in data.items() if key not in self.unsupported}
        return super().to_internal_value(data)

    def params(self, validated: dict[str, Any], *, max_tokens: int | None) -> GenerationParams:
        return GenerationParams(
            max_tokens=max_tokens or validated.get("max_tokens") or self.default_max_tokens,
            temperature=validated.get("temperature"),
            top_p=validated.get("top_p"),
            stop=tuple(validated.get("stop") or ()),
            seed=validated.get("seed"),
            presence_penalty=validated.get("presence_penalty"),
            frequency_penalty=validated.get("frequency_penalty"),
            logit_bias=tuple(sorted((validated.get("logit_bias") or {}).items())),
        )


class ChatContentPartSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=["text"], help_text="Only text: this server has no vision or audio model.")
    text = TextField(max_length=settings.INFERENCE_MAX_PROMPT_CHARS, trim_whitespace=False, allow_blank=True)


class OpenAIMessageSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=["system", "developer", "user", "assistant"])
    content = OpenAIContentField()

    def validate_content(self, value: Any) -> str:
        if isinstance(value, str):
            text = value
        elif isinstance(value, list) and value:
            parts = ChatContentPartSerializer(data=value, many=True)
            parts.is_valid(raise_exception=True)
            text = "".join(part["text"] for part in parts.validated_data)
        else:
            raise serializers.ValidationError("A string, or a list of text parts.")
        if len(text) > settings.INFERENCE_MAX_PROMPT_CHARS:
            raise serializers.ValidationError(f"At most {settings.INFERENCE_MAX_PROMPT_CHARS} characters.")
        return text


class OpenAIChatCompletionCreateSerializer(SamplingFields):
    messages = serializers.ListField(
        child=OpenAIMessageSerializer(), min_length=1, max_length=settings.INFERENCE_MAX_MESSAGES
    )
    max_completion_tokens = IntegerValue(min_value=1, max_value=MAX_OUTPUT_TOKENS, required=False, allow_null=True)

    unsupported = UNSUPPORTED_CHAT

    def to_request(self) -> ChatRequest:
        validated = self.validated_data
        messages = [
            # OpenAI's `developer` role is the newer name of `system`.
            ChatMessage(role="system" if m["role"] == "developer" else m["role"], content=m["content"])
            for m in validated["messages"]
        ]
        params = self.params(validated, max_tokens=validated.get("max_completion_tokens"))
        return ChatRequest(validated["model"], messages, params, bool(validated.get("stream")))


class OpenAICompletionCreateSerializer(SamplingFields):
    prompt = OpenAIPromptField()

    unsupported = UNSUPPORTED_COMPLETION
    default_max_tokens = 16  # OpenAI's default for completions

    def validate_prompt(self, value: Any) -> str:
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not isinstance(value, str) or not value:
            raise serializers.ValidationError(
                "A non-empty string: this server completes one text prompt per request (no token arrays)."
            )
        if len(value) > settings.INFERENCE_MAX_PROMPT_CHARS:
            raise serializers.ValidationError(f"At most {settings.INFERENCE_MAX_PROMPT_CHARS} characters.")
        return value

    def to_request(self) -> CompletionRequest:
        validated = self.validated_data
        params = self.params(validated, max_tokens=None)
        return CompletionRequest(validated["model"], validated["prompt"], params, bool(validated.get("stream")))


class OpenAIEmbeddingCreateSerializer(StrictSerializer):
    model = TextField(min_length=1, max_length=100, trim_whitespace=False)
    input = OpenAIInputField()
    encoding_format = serializers.ChoiceField(choices=["float", "base64"], default="float")
    dimensions = IntegerValue(min_value=1, required=False, allow_null=True)
    user = TextField(max_length=USER_MAX_CHARS, required=False, allow_blank=True)

    def validate_input(self, value: Any) -> list[str]:
        texts = [value] if isinstance(value, str) else value
        if not isinstance(texts, list) or not texts or not all(isinstance(text, str) and text for text in texts):
            raise serializers.ValidationError("A non-empty string or a list of them (token arrays are not supported).")
        if len(texts) > settings.INFERENCE_MAX_EMBEDDING_INPUTS:
            raise serializers.ValidationError(f"At most {settings.INFERENCE_MAX_EMBEDDING_INPUTS} inputs.")
        if any(len(text) > settings.INFERENCE_MAX_EMBEDDING_CHARS for text in texts):
            raise serializers.ValidationError(
                f"Each input is at most {settings.INFERENCE_MAX_EMBEDDING_CHARS} characters."
            )
        return texts

    def to_request(self) -> EmbeddingRequest:
        return EmbeddingRequest(self.validated_data["model"], list(self.validated_data["input"]))


# --- Answers, for the OpenAPI document ---------------------------------------------------------


@extend_schema_field({"type": "null", "description": "Always null: the engines here return no log probabilities."})
class NoLogprobsField(serializers.JSONField):
    pass


@extend_schema_field(
    {
        "oneOf": [{"type": "array", "items": {"type": "number"}}, {"type": "string", "contentEncoding": "base64"}],
        "description": "Floats, or with `encoding_format: base64` their little-endian float32 bytes.",
    }
)
class EmbeddingVectorField(serializers.JSONField):
    pass


class OpenAIUsageSerializer(serializers.Serializer[Any]):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()


class OpenAIChatMessageSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=["assistant"])
    content = serializers.CharField()
    refusal = serializers.CharField(allow_null=True)


class OpenAIChatChoiceSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField()
    message = OpenAIChatMessageSerializer()
    logprobs = NoLogprobsField()
    finish_reason = serializers.ChoiceField(choices=["stop", "length"])


class OpenAIChatCompletionSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    object = serializers.CharField(help_text="`chat.completion`")
    created = serializers.IntegerField()
    model = serializers.CharField()
    choices = OpenAIChatChoiceSerializer(many=True)
    usage = OpenAIUsageSerializer()
    system_fingerprint = serializers.CharField(allow_null=True)


class OpenAICompletionChoiceSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField()
    text = serializers.CharField()
    logprobs = NoLogprobsField()
    finish_reason = serializers.ChoiceField(choices=["stop", "length"])


class OpenAICompletionSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    object = serializers.CharField(help_text="`text_completion`")
    created = serializers.IntegerField()
    model = serializers.CharField()
    choices = OpenAICompletionChoiceSerializer(many=True)
    usage = OpenAIUsageSerializer()
    system_fingerprint = serializers.CharField(allow_null=True)


class OpenAIEmbeddingSerializer(serializers.Serializer[Any]):
    object = serializers.CharField(help_text="`embedding`")
    index = serializers.IntegerField()
    embedding = EmbeddingVectorField()


class OpenAIEmbeddingUsageSerializer(serializers.Serializer[Any]):
    prompt_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()


class OpenAIEmbeddingListSerializer(serializers.Serializer[Any]):
    object = serializers.CharField(help_text="`list`")
    data = OpenAIEmbeddingSerializer(many=True)  # type: ignore[assignment]  # a field (DRF takes it off the class)
    model = serializers.CharField()
    usage = OpenAIEmbeddingUsageSerializer()


class OpenAIModelSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    object = serializers.CharField(help_text="`model`")
    created = serializers.IntegerField()
    owned_by = serializers.CharField()


class OpenAIModelListSerializer(serializers.Serializer[Any]):
    object = serializers.CharField(help_text="`list`")
    data = OpenAIModelSerializer(many=True)  # type: ignore[assignment]  # a field (DRF takes it off the class)


class OpenAIErrorBodySerializer(serializers.Serializer[Any]):
    message = serializers.CharField()
    type = serializers.CharField()
    param = serializers.CharField(allow_null=True)
    code = serializers.CharField(allow_null=True)


class OpenAIErrorSerializer(serializers.Serializer[Any]):
    error = OpenAIErrorBodySerializer()
