"""The OpenAI-compatible routes' own OpenAPI document, `openapi/openai.yaml` (`make schema`):

    manage.py spectacular --custom-settings apps.openai_api.schema.SETTINGS --file openapi/openai.yaml

A second document rather than a tag in the first, because the `/v1` document is what the SDKs are
generated from, and these routes are for OpenAI's own clients."""

from __future__ import annotations

from typing import Any

from apps.pipeline.schema import HEADERS, RETRY_HEADERS, _component_name, _header

Schema = dict[str, Any]
ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 502, 503, 504)

SETTINGS = {
    "TITLE": "Inference Platform: OpenAI-compatible API",
    "DESCRIPTION": (
        "OpenAI's wire format over the same tokens, limits, idempotency, usage and request log as `/v1`. "
        "Point an OpenAI client at `http://<host>:<port>/openai/v1`. See docs/openai-compatibility.md."
    ),
    "SCHEMA_PATH_PREFIX": "/openai/v1",
    "PREPROCESSING_HOOKS": ["apps.openai_api.schema.openai_routes_only"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.openai_api.schema.add_openai_contract",
    ],
}


def openai_routes_only(endpoints: list[Any], **kwargs: Any) -> list[Any]:
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/openai/v1/")]


def add_openai_contract(result: Schema, generator: Any, request: Any, public: bool) -> Schema:
    """Every operation: OpenAI's error object for each error status, the same headers as `/v1`, and
    the events of its stream, if it has one."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["OpenAIError"] = OPENAI_ERROR
    components["headers"] = {_component_name(n): _header(spec) for n, spec in {**HEADERS, **RETRY_HEADERS}.items()}
    error_ref = {"$ref": "#/components/schemas/OpenAIError"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status in ERROR_STATUSES:
                responses.setdefault(
                    str(status),
                    {"description": "OpenAI's error object.", "content": {"application/json": {"schema": error_ref}}},
                )
            for status, response in responses.items():
                if "text/event-stream" in response.get("content", {}):
                    # The schema of a stream is that of one event (OpenAPI 3.2's `itemSchema`), as on `/v1`.
                    response["content"]["text/event-stream"]["schema"] = OPENAI_STREAM_EVENT
                names = list(HEADERS) + (list(RETRY_HEADERS) if int(status) in (409, 429, 503) else [])
                response["headers"] = {
                    name: {"$ref": f"#/components/headers/{_component_name(name)}"} for name in names
                }
    return result


OPENAI_ERROR: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string", "description": "`invalid_request_error`, `authentication_error`, …"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"], "description": "The `/v1` error code (docs/api-contract.md)."},
            },
        }
    },
}

OPENAI_STREAM_EVENT: Schema = {
    "type": "object",
    "description": (
        "One event of the stream, a `data:` line without an `event:` name: a chunk as JSON "
        "(`chat.completion.chunk`, `text_completion`), OpenAI's error object if the stream fails once "
        "begun, and `[DONE]` last."
    ),
    "required": ["data"],
    "properties": {"data": {"type": "string"}},
}
