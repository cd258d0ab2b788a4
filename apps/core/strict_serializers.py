"""DRF fields that accept JSON's own types only, and a serializer that refuses unknown fields.

DRF is lenient where an API should be strict: it turns 42 into "42", "12" into 12, "yes" into true,
and ignores fields it does not know. Every request body of the API is validated with these.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictSerializer(serializers.Serializer[dict[str, Any]]):
    """Unknown fields are an error naming the field, not silently ignored (a typo'd
    `max_token` would otherwise run with the default and surprise the caller)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class TextField(serializers.CharField):
    """A string and only a string: DRF's CharField would turn 42 into "42"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class IntegerValue(serializers.IntegerField):
    """A JSON number and only a number: DRF's IntegerField would turn "12" into 12 and true into 1."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool | str):
            self.fail("invalid")
        return super().to_internal_value(data)


class FloatValue(serializers.FloatField):
    """A JSON number and only a number (not "0.5", not true)."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool | str):
            self.fail("invalid")
        return super().to_internal_value(data)


class BooleanValue(serializers.BooleanField):
    """true or false: DRF's BooleanField would also take "yes", "on", 1 and "0"."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data
