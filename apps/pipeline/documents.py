"""`/v1/openapi.json|yaml`: the committed schema (openapi/schema.yaml), the same file the SDKs are
generated from. Documents for tools, so served bare, not in the envelope (ADR 0003); they still go
through the exchange: request id and rate-limit headers, counted per client IP, and any error
(a 429) is an envelope."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import yaml
from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from .exchange import Document
from .http import PipelineViewSet

SCHEMA_FILE = settings.BASE_DIR / "openapi" / "schema.yaml"


@cache
def _schema_yaml() -> bytes:
    return SCHEMA_FILE.read_bytes()


@cache
def _schema_json() -> bytes:
    return json.dumps(yaml.safe_load(_schema_yaml())).encode()


@extend_schema(exclude=True)
class OpenApiDocumentViewSet(PipelineViewSet):
    public = True

    async def json(self, request: Request, *args: Any, **kwargs: Any) -> Document:
        return Document(_schema_json(), "application/json")

    async def yaml(self, request: Request, *args: Any, **kwargs: Any) -> Document:
        return Document(_schema_yaml(), "application/yaml")
