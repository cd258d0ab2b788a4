"""How batch items and results look in the schema: one variant per endpoint, a `oneOf` keyed by
`endpoint` (a discriminator), so a client's types narrow `body` and `response` by the endpoint.

Schema only. At run time a batch item is read by `BatchItemRequestSerializer` (its `body` is then
validated by the endpoint's own serializer, apps/batches/validation.py) and a result is written by
`BatchResultSerializer`; the two extensions below give those serializers' components
(`BatchItemRequest`, `BatchResult`) the per-endpoint shape. Registered in `BatchesConfig.ready`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from apps.core.strict_serializers import StrictSerializer, TextField
from apps.inference.endpoints import ENDPOINTS_BY_PATH
from apps.inference.serializers import UsageSerializer

from .models import BatchItem
from .serializers import ErrorObjectField

# The component name prefix of each endpoint's variants: `ChatCompletionBatchRequest`, ….
VARIANT_NAMES = {
    "/v1/chat/completions": "ChatCompletion",
    "/v1/completions": "Completion",
    "/v1/embeddings": "Embedding",
}
if set(VARIANT_NAMES) != set(ENDPOINTS_BY_PATH):  # a new batch endpoint needs its variants named here
    raise RuntimeError(f"apps/batches/schema.py: VARIANT_NAMES {sorted(VARIANT_NAMES)} != {sorted(ENDPOINTS_BY_PATH)}")


def _endpoint_field(path: str) -> serializers.Field[Any, Any, Any, Any]:
    """The discriminator: a string that is exactly `path` (`const`: the enum hook leaves it alone)."""
    field_class = extend_schema_field({"type": "string", "const": path})(
        type("EndpointField", (serializers.Field,), {})
    )
    return field_class()


def _request_variant(path: str) -> type[serializers.Serializer[Any]]:
    fields = {
        "custom_id": TextField(min_length=1, max_length=64, help_text="Your id for this request, unique in the batch."),
        "endpoint": _endpoint_field(path),
        "body": ENDPOINTS_BY_PATH[path].request_serializer(
            help_text=f"The body of `POST {path}`, exactly as it would be sent on its own."
        ),
    }
    return type(f"{VARIANT_NAMES[path]}BatchRequestSerializer", (StrictSerializer,), fields)


def _result_variant(path: str) -> type[serializers.Serializer[Any]]:
    fields = {
        "custom_id": serializers.CharField(),
        "endpoint": _endpoint_field(path),
        "status": serializers.ChoiceField(choices=BatchItem.Status.choices),
        "response": ENDPOINTS_BY_PATH[path].response_serializer(
            allow_null=True, help_text=f"What `POST {path}` answers in `data`; null unless `completed`."
        ),
        "error": ErrorObjectField(allow_null=True, help_text="Why the request failed; null unless `failed`."),
        "usage": UsageSerializer(allow_null=True),
    }
    return type(f"{VARIANT_NAMES[path]}BatchResultSerializer", (serializers.Serializer,), fields)


REQUEST_VARIANTS: dict[str, Any] = {path: _request_variant(path) for path in VARIANT_NAMES}
RESULT_VARIANTS: dict[str, Any] = {path: _result_variant(path) for path in VARIANT_NAMES}


class _UnionSchema(OpenApiSerializerExtension):
    """Maps the target serializer to the `oneOf` of `variants`, discriminated by `endpoint`."""

    priority = 1  # over StrictSerializerSchema, which matches every StrictSerializer
    component_name: str
    variants: dict[str, Any]  # endpoint -> variant serializer class

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        union = PolymorphicProxySerializer(
            component_name=self.component_name, serializers=self.variants, resource_type_field_name="endpoint"
        )
        schema: dict[str, Any] = auto_schema._map_serializer(union, direction)
        return schema

    def get_name(self, auto_schema: Any, direction: Any) -> str:
        return self.component_name


class BatchItemRequestSchema(_UnionSchema):
    target_class = "apps.batches.serializers.BatchItemRequestSerializer"
    component_name = "BatchItemRequest"
    variants = REQUEST_VARIANTS


class BatchResultSchema(_UnionSchema):
    target_class = "apps.batches.serializers.BatchResultSerializer"
    component_name = "BatchResult"
    variants = RESULT_VARIANTS
