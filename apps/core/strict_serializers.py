"""DRF fields that accept JSON's own types only, and a serializer that refuses unknown fields.

DRF is lenient where an API should be strict: it turns 42 into "42", "12" into 12, "yes" into true,
and ignores fields it does not know. Every request body of the API is validated with these.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from django.utils.functional import cached_property
from rest_framework import serializers
from rest_framework.fields import Field, empty
from rest_framework.utils.serializer_helpers import BindingDict

_per_thread = threading.local()  # .fields: {serializer class: its fields, built on this thread}


class StrictSerializer(serializers.Serializer[dict[str, Any]]):
    """Unknown fields are an error naming the field, not silently ignored (a typo'd
    `max_token` would otherwise run with the default and surprise the caller)."""

    # (Comments, not the docstring: drf-spectacular publishes a serializer's docstring.)
    # Its fields are built once per class and thread, and bound to each new instance. DRF
    # deep-copies every declared field for every instance (each field's `__init__` again, its
    # validators again): a third of a proxied chat request's own CPU (docs/benchmarks.md, "Proxy").
    # Sharing is safe here because validation keeps its state on the serializer, never on a field,
    # runs without a pause on one thread, and a field reads its parent only for `context` and
    # `partial`, which these request serializers never take (the constructor refuses them).

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("context") or kwargs.get("partial"):
            raise TypeError(f"{type(self).__name__} shares its fields between instances: no context, no partial")
        super().__init__(*args, **kwargs)

    @cached_property
    def fields(self) -> BindingDict:
        built: dict[type, dict[str, Field[Any, Any, Any, Any]]] | None = getattr(_per_thread, "fields", None)
        if built is None:
            built = _per_thread.fields = {}
        fields = built.get(type(self))
        if fields is None:
            fields = built[type(self)] = dict(super().fields)  # built and bound by DRF
        bound = BindingDict(self)
        bound.fields = dict(fields)
        for field in fields.values():
            field.parent = self  # all that binding sets which depends on the instance
        return bound

    _body: Mapping[str, Any] = {}  # the object being validated, for `_writable_fields`

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        self._body = data
        return super().to_internal_value(data)

    @property
    def _writable_fields(self) -> list[Field[Any, Any, Any, Any]]:
        # DRF's loop runs every field, and an absent optional one raises SkipField, which DRF
        # catches: the larger part of validating a body with a dozen optional parameters (OpenAI's
        # chat body; docs/benchmarks.md, "OpenAI's format"). Only what can give a value runs: the
        # fields the body names, and the required or defaulted ones (their error or default).
        body = self._body
        return [
            field
            for name, field in self.fields.items()
            if not field.read_only and (name in body or field.required or field.default is not empty)
        ]


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
