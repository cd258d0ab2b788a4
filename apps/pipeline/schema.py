"""drf-spectacular post-processing: writes the wire contract (docs/api-contract.md) into every operation, so
the schema, the docs page and the generated SDK all show the envelope, the error object, the
rate-limit headers and the Idempotency-Key header with the same component names."""

from __future__ import annotations

from typing import Any

from apps.core.errors import ERRORS_BY_CODE
from apps.core.pagination import MAX_LIMIT

Schema = dict[str, Any]

HEADERS: dict[str, Schema] = {
    "X-Request-Id": {"description": "Equals `meta.request_id`; quote it when reporting a problem."},
    "X-RateLimit-Limit": {"description": "Requests allowed per window (one second).", "integer": True},
    "X-RateLimit-Remaining": {"description": "Requests left in the current window.", "integer": True},
    "X-RateLimit-Reset": {"description": "Whole seconds until the window resets.", "integer": True},
    "RateLimit-Policy": {"description": 'IETF structured form, e.g. `"default";q=50;w=1`.'},
    "RateLimit": {"description": 'IETF structured form, e.g. `"default";r=49;t=1`.'},
}
RETRY_HEADERS: dict[str, Schema] = {
    "Retry-After": {"description": "Seconds to wait before retrying.", "integer": True},
    "Retry-After-Ms": {"description": "Milliseconds to wait before retrying.", "integer": True},
}
COMMON_ERRORS = (400, 401, 403, 404, 429, 500, 503)
POST_ERRORS = (409, 413, 415, 422, 502, 504)
STATUS_TEXT = {
    400: "Invalid request",
    401: "Missing or invalid token",
    403: "Not allowed for this token",
    404: "Not found",
    409: "Same Idempotency-Key still in progress",
    413: "Body too large",
    415: "Body is not JSON",
    422: "Idempotency-Key reused with a different request",
    429: "Rate limited",
    500: "Internal error",
    503: "Overloaded or unavailable",
}


def add_api_contract(result: Schema, generator: Any, request: Any, public: bool) -> Schema:
    components = result.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(_envelope_components())
    components["headers"] = {_component_name(n): _header(spec) for n, spec in {**HEADERS, **RETRY_HEADERS}.items()}
    components.setdefault("parameters", {})["IdempotencyKey"] = IDEMPOTENCY_KEY_PARAMETER
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            _apply_contract(operation, method, schemas)
    return result


def _apply_contract(operation: Schema, method: str, schemas: Schema) -> None:
    responses = operation.setdefault("responses", {})
    for status, response in responses.items():
        if str(status).startswith("2"):
            _envelope_response(response, schemas)
    statuses = COMMON_ERRORS + (POST_ERRORS if method == "post" else ())
    for status in statuses:
        responses.setdefault(str(status), _error_response(status))
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query":
            _query_parameter(parameter)
    for status, response in responses.items():
        response["headers"] = _response_headers(int(status))
    if method == "post":
        operation.setdefault("parameters", []).append({"$ref": "#/components/parameters/IdempotencyKey"})


def _query_parameter(parameter: Schema) -> None:
    if parameter.get("name") == "limit":
        # Every `limit` is the page size of cursor pagination (apps.core.pagination.page_limit).
        parameter["schema"] = {**parameter.get("schema", {}), "minimum": 1, "maximum": MAX_LIMIT}
    if not parameter.get("required"):
        # `?start=` means "not given" (DRF, page_limit): the default applies, it is no error.
        parameter["allowEmptyValue"] = True


def _envelope_response(response: Schema, schemas: Schema) -> None:
    content = response.get("content", {})
    for media_type, media in content.items():
        if media_type == "text/event-stream":
            # The schema of a stream is that of one event (what OpenAPI 3.2 calls `itemSchema`).
            media["schema"] = SERVER_SENT_EVENT
            continue
        ref = media.get("schema", {}).get("$ref")
        if ref is None:
            continue
        name = ref.rsplit("/", 1)[-1]
        schemas[f"{name}Envelope"] = _envelope_of({"$ref": ref}, error={"type": "null"})
        media["schema"] = {"$ref": f"#/components/schemas/{name}Envelope"}


def _error_response(status: int) -> Schema:
    codes = ", ".join(f"`{code}`" for code, error in sorted(ERRORS_BY_CODE.items()) if error.status == status)
    return {
        "description": f"{STATUS_TEXT.get(status, 'Error')}: {codes}.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }


def _response_headers(status: int) -> Schema:
    names = list(HEADERS)
    if status in (409, 429, 503):
        names += list(RETRY_HEADERS)
    return {name: {"$ref": f"#/components/headers/{_component_name(name)}"} for name in names}


def _envelope_of(data: Schema, *, error: Schema) -> Schema:
    return {
        "type": "object",
        "required": ["data", "error", "meta"],
        "properties": {"data": data, "error": error, "meta": {"$ref": "#/components/schemas/Meta"}},
    }


def _envelope_components() -> Schema:
    return {
        "Meta": {
            "type": "object",
            "required": ["request_id", "timestamp"],
            "properties": {
                "request_id": {"type": "string", "pattern": "^req_[A-Za-z0-9_-]{24}$"},
                "timestamp": {"type": "string", "format": "date-time"},
            },
            "additionalProperties": True,
        },
        "ErrorCode": {"type": "string", "enum": sorted(ERRORS_BY_CODE)},
        "ErrorDetail": {
            "type": "object",
            "required": ["param", "message", "code"],
            "properties": {
                "param": {"type": ["string", "null"]},
                "message": {"type": "string"},
                "code": {"type": "string"},
            },
        },
        "Error": {
            "type": "object",
            "required": ["code", "message", "param", "details"],
            "properties": {
                "code": {"$ref": "#/components/schemas/ErrorCode"},
                "message": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "details": {
                    "oneOf": [
                        {"type": "array", "items": {"$ref": "#/components/schemas/ErrorDetail"}},
                        {"type": "null"},
                    ]
                },
            },
        },
        "ErrorEnvelope": _envelope_of({"type": "null"}, error={"$ref": "#/components/schemas/Error"}),
        # The events of a `text/event-stream` response (docs/streaming.md); each `data:` line is one of these.
        "StreamChunk": {
            "type": "object",
            "required": ["index", "delta"],
            "properties": {"index": {"type": "integer"}, "delta": {"type": "string"}},
        },
        "StreamDone": {
            "type": "object",
            "required": ["finish_reason", "usage"],
            "properties": {
                "finish_reason": {"type": "string", "enum": ["stop", "length", "cancelled"]},
                "usage": {"$ref": "#/components/schemas/Usage"},
            },
        },
        "StreamChunkEnvelope": _envelope_of({"$ref": "#/components/schemas/StreamChunk"}, error={"type": "null"}),
        "StreamDoneEnvelope": _envelope_of({"$ref": "#/components/schemas/StreamDone"}, error={"type": "null"}),
    }


def _header(spec: Schema) -> Schema:
    return {"description": spec["description"], "schema": {"type": "integer" if spec.get("integer") else "string"}}


def _component_name(header: str) -> str:
    return header.replace("-", "")


# Inline, not a component: it is the frame around an envelope, not a body of its own.
SERVER_SENT_EVENT: Schema = {
    "type": "object",
    "description": "One event of the stream: its `event:` name and its `data:` line, one envelope as JSON.",
    "required": ["event", "data"],
    "properties": {
        "event": {
            "type": "string",
            "description": "Completions and chat: `chunk`, `done` or `error`. Batch progress: `progress` or `done`.",
        },
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
}

IDEMPOTENCY_KEY_PARAMETER: Schema = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes this POST safe to retry: the first request with a key executes, a retry with the same "
        "key and body replays the stored response (`Idempotent-Replayed: true`). 1-255 printable ASCII."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7E]+$"},
}
