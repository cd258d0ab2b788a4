"""Teach drf-spectacular how our authentication, strict request bodies and viewsets look on the wire."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.pipeline.http.BearerTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An API token: `Authorization: Bearer ipk_…`."}


class StrictSerializerSchema(OpenApiSerializerExtension):
    """Request bodies refuse unknown fields (`StrictSerializer`): the schema says so, or a client
    reading it would expect an extra field to be ignored."""

    target_class = "apps.core.strict_serializers.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}


class PipelineSchema(AutoSchema):
    """How drf-spectacular reads a `PipelineViewSet`. Every `/v1/` answer is one object in the
    envelope (a page is `{"items", "next_cursor"}`), never a bare list, whatever the action's name;
    and an operation's description is its action's own docstring, not the viewset machinery's."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        return False

    def get_description(self) -> str:  # type: ignore[override]
        action = getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)
        return get_doc(action) if action is not None else ""
