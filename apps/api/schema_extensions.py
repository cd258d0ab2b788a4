"""Teach drf-spectacular how our authentication and strict request bodies look on the wire."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.customers.authentication.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An API token: `Authorization: Bearer ipk_…`."}


class StrictSerializerSchema(OpenApiSerializerExtension):
    """Request bodies refuse unknown fields (`StrictSerializer`): the schema says so, or a client
    reading it would expect an extra field to be ignored."""

    target_class = "apps.inference.serializers.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}
