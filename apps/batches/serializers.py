"""Request and response shapes of `/v1/batches`. Class names become the schema's component names and
the SDK's type names: `BatchCreateRequest`, `BatchItemRequest`, `Batch`, `BatchCounts`, `BatchList`,
`BatchResult`, `BatchResultList`; the enums are `BatchStatus`, `BatchItemStatus`, `BatchEndpoint`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.strict_serializers import StrictSerializer, TextField
from apps.inference.endpoints import ENDPOINTS_BY_PATH
from apps.inference.serializers import UsageSerializer

from .models import BatchItem, BatchJob

ENDPOINT_CHOICES = sorted(ENDPOINTS_BY_PATH)
MAX_METADATA_KEYS = 16
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 512


@extend_schema_field(
    {
        "type": "object",
        "maxProperties": MAX_METADATA_KEYS,
        "propertyNames": {"maxLength": MAX_METADATA_KEY_CHARS},
        "additionalProperties": {"type": "string", "maxLength": MAX_METADATA_VALUE_CHARS},
    }
)
class MetadataField(serializers.DictField):
    """String pairs the caller attaches to a batch; bounded, and the bounds are in the schema."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=TextField(max_length=MAX_METADATA_VALUE_CHARS, allow_blank=True), **kwargs)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        value: dict[str, str] = super().to_internal_value(data)
        if len(value) > MAX_METADATA_KEYS:
            raise serializers.ValidationError(f"At most {MAX_METADATA_KEYS} keys.")
        if any(len(key) > MAX_METADATA_KEY_CHARS for key in value):
            raise serializers.ValidationError(f"Keys are at most {MAX_METADATA_KEY_CHARS} characters.")
        return value


class BatchItemRequestSerializer(StrictSerializer):
    """Reads one item; `body` is validated by its endpoint's serializer (validation.py). In the schema
    this is a `oneOf` keyed by `endpoint`, with `body` typed per endpoint (apps/batches/schema.py)."""

    custom_id = TextField(min_length=1, max_length=64, help_text="Your id for this request, unique in the batch.")
    endpoint = serializers.ChoiceField(choices=ENDPOINT_CHOICES)
    body = serializers.DictField(help_text="The endpoint's request body, exactly as it would be sent on its own.")


class BatchCreateRequestSerializer(StrictSerializer):
    # A ListField, not `many=True`: its length bounds reach the schema (minItems, maxItems).
    requests = serializers.ListField(
        child=BatchItemRequestSerializer(), min_length=1, max_length=settings.BATCH_MAX_REQUESTS
    )
    metadata = MetadataField(required=False, help_text="String pairs, returned with the batch.")

    def to_internal_value(self, data: Any) -> Any:
        # Count before validating each item: a too-long list is refused without the work.
        requests = data.get("requests") if isinstance(data, dict) else None
        if isinstance(requests, list) and len(requests) > settings.BATCH_MAX_REQUESTS:
            raise serializers.ValidationError(
                {"requests": [f"A batch holds at most {settings.BATCH_MAX_REQUESTS} requests."]}
            )
        return super().to_internal_value(data)


@extend_schema_field({"$ref": "#/components/schemas/Error"})
class ErrorObjectField(serializers.JSONField):
    """The envelope's error object (`Error`). Only the reference: `allow_null` adds the null once
    (a null listed here too made every null match two branches of the `oneOf`)."""


class BatchCountsSerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField(source="total_count")
    completed = serializers.IntegerField(source="completed_count")
    failed = serializers.IntegerField(source="failed_count")
    cancelled = serializers.IntegerField(source="cancelled_count")


class BatchSerializer(serializers.Serializer[BatchJob]):
    id = serializers.CharField(source="public_id", help_text="`batch_…`")
    status = serializers.ChoiceField(choices=BatchJob.Status.choices)
    counts = BatchCountsSerializer(source="*")
    metadata = serializers.DictField(child=serializers.CharField())
    error = ErrorObjectField(allow_null=True, help_text="Why the batch could not run at all (status `failed`).")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    cancel_requested_at = serializers.DateTimeField(allow_null=True)


class BatchListSerializer(serializers.Serializer[Any]):
    items = BatchSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class BatchResultSerializer(serializers.Serializer[dict[str, Any]]):
    """One result (`services.result_of`). In the schema a `oneOf` keyed by `endpoint`, so that
    `response` is typed per endpoint (apps/batches/schema.py)."""

    custom_id = serializers.CharField()
    endpoint = serializers.ChoiceField(choices=ENDPOINT_CHOICES)
    status = serializers.ChoiceField(choices=BatchItem.Status.choices)
    response = serializers.JSONField(allow_null=True)
    error = ErrorObjectField(allow_null=True)
    usage = UsageSerializer(allow_null=True)


class BatchResultListSerializer(serializers.Serializer[Any]):
    items = BatchResultSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class BatchPageQuerySerializer(serializers.Serializer[Any]):
    """Only for the schema: the views read these through `apps.core.pagination`."""

    cursor = serializers.CharField(required=False, help_text="`next_cursor` of the previous page.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, help_text="Default 20.")
