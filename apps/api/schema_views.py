"""`/v1/openapi.json|yaml`: the committed schema (openapi/schema.yaml), the same file the SDK is
generated from. These two are documents for tools, so they are served bare, not in the envelope
(ADR 0003); they still carry the request id and rate-limit headers, and errors are enveloped."""

from __future__ import annotations

import json
from functools import cache

import yaml
from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from .pipeline import ApiView

SCHEMA_FILE = settings.BASE_DIR / "openapi" / "schema.yaml"


@cache
def _schema_yaml() -> bytes:
    return SCHEMA_FILE.read_bytes()


@cache
def _schema_json() -> bytes:
    return json.dumps(yaml.safe_load(_schema_yaml())).encode()


@extend_schema(exclude=True)
class OpenApiJsonView(ApiView):
    public = True

    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(_schema_json(), content_type="application/json")


@extend_schema(exclude=True)
class OpenApiYamlView(ApiView):
    public = True

    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(_schema_yaml(), content_type="application/yaml")
