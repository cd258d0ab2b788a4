"""Validates real responses against the committed openapi/schema.yaml (OpenAPI 3.1: its schemas
are JSON Schema 2020-12), so a test catches a schema that rejects what the server sends."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import httpx
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "openapi" / "schema.yaml"
DOCUMENT_URI = "urn:inference-platform:openapi"


@cache
def _document() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA_FILE.read_text())


@cache
def _registry() -> Registry:
    document = Resource.from_contents(_document(), default_specification=DRAFT202012)
    return Registry().with_resource(DOCUMENT_URI, document)


def operation(operation_id: str) -> dict[str, Any]:
    for path_item in _document()["paths"].values():
        for candidate in path_item.values():
            if isinstance(candidate, dict) and candidate.get("operationId") == operation_id:
                return candidate
    raise KeyError(f"no operation {operation_id!r} in {SCHEMA_FILE.name}")


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for `schema`, whose `#/components/...` references resolve in the document."""
    root = {"$ref": f"{DOCUMENT_URI}{schema['$ref']}"} if "$ref" in schema else schema
    return Draft202012Validator(root, registry=_registry())


def response_errors(operation_id: str, response: httpx.Response) -> list[str]:
    """Why `response` does not match what the schema documents for its operation and status."""
    documented = operation(operation_id)["responses"].get(str(response.status_code))
    if documented is None:
        return [f"status {response.status_code} is not documented for {operation_id}"]
    media = documented["content"]["application/json"]["schema"]
    return [_describe(error) for error in validator(media).iter_errors(response.json())]


def component_errors(component: str, instance: Any) -> list[str]:
    """Why `instance` is not a valid `#/components/schemas/<component>`."""
    schema = {"$ref": f"#/components/schemas/{component}"}
    return [_describe(error) for error in validator(schema).iter_errors(instance)]


def _describe(error: Any) -> str:
    return f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
