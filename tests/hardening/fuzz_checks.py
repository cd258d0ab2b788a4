"""Checks for schemathesis, on top of its own.

`wire_contract` (docs/api-contract.md): every `/v1/` response is an envelope (a stream: a sequence
of envelope events ending in `done` or `error`) whose request id matches `X-Request-Id`, with the
rate-limit headers. `openai_wire_contract` (docs/openai-compatibility.md): every `/openai/v1/`
response is OpenAI's object or OpenAI's error, with the same headers. `positive_data_accepted`:
schemathesis's `positive_data_acceptance`, minus the rules that a schema cannot state.
"""

from __future__ import annotations

import json
import re
from typing import Any

from schemathesis import Case, CheckContext, Response
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.support.envelope import RATE_LIMIT_HEADERS, REQUEST_ID, TIMESTAMP


def wire_contract(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    headers = response.headers
    _assert_headers(response, retry_statuses=(429,))
    request_id = headers["x-request-id"][0]
    content_type = headers.get("content-type", [""])[0]
    envelopes = _sse_envelopes(response.text) if content_type.startswith("text/event-stream") else [response.json()]
    assert envelopes, "an empty stream"
    for envelope in envelopes:
        _assert_envelope(envelope)
    # A replay answers with the original body, hence the original request id.
    if "idempotent-replayed" not in headers:
        assert {envelope["meta"]["request_id"] for envelope in envelopes} == {request_id}
    return None


def openai_wire_contract(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    headers = response.headers
    assert REQUEST_ID.match(headers["x-request-id"][0]), headers["x-request-id"]
    _assert_headers(response, retry_statuses=(429, 503))
    if headers.get("content-type", [""])[0].startswith("text/event-stream"):
        _assert_openai_stream(response.text)
    elif response.status_code >= 400:
        _assert_openai_error(response.json())
    else:
        body = response.json()
        assert isinstance(body, dict) and "error" not in body and "object" in body, body
    return None


def _assert_headers(response: Response, *, retry_statuses: tuple[int, ...]) -> None:
    for name in RATE_LIMIT_HEADERS:
        assert name.lower() in response.headers, f"{name} missing on a {response.status_code}"
    if response.status_code in retry_statuses:
        assert {"retry-after", "retry-after-ms"} <= set(response.headers)


def _assert_openai_error(body: Any) -> None:
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "type", "param", "code"}, body
    assert body["error"]["message"] and body["error"]["type"], body


SSE_LINE_END = re.compile(r"\r\n|\r|\n")


def _assert_openai_stream(text: str) -> None:
    """`data:` lines of chunks, then `[DONE]`; or, once it has begun, an error object that ends it."""
    lines = SSE_LINE_END.split(text)  # not str.splitlines: U+2028 and the like end no line in SSE
    data = [line.removeprefix("data: ") for line in lines if line and not line.startswith(":")]
    assert data and len(data) == len([line for line in lines if line.startswith("data: ")]), text
    *chunks, last = data
    for chunk in map(json.loads, chunks):
        assert chunk["object"] in ("chat.completion.chunk", "text_completion"), chunk
    if last != "[DONE]":
        _assert_openai_error(json.loads(last))


def _assert_envelope(envelope: Any) -> None:
    assert isinstance(envelope, dict) and set(envelope) == {"data", "error", "meta"}, envelope
    assert (envelope["data"] is None) != (envelope["error"] is None), envelope
    assert REQUEST_ID.match(envelope["meta"]["request_id"]), envelope["meta"]
    assert TIMESTAMP.match(envelope["meta"]["timestamp"]), envelope["meta"]


def _sse_envelopes(text: str) -> list[Any]:
    """The envelope of every event of a stream; the last one must end it (done or error)."""
    envelopes, last_event = [], None
    for block in text.strip().split("\n\n"):
        if block.startswith(":"):
            continue  # a ping
        fields = dict(line.split(": ", 1) for line in SSE_LINE_END.split(block))
        last_event = fields["event"]
        envelopes.append(json.loads(fields["data"]))
    assert last_event in ("done", "error"), f"the stream ended with {last_event!r}"
    return envelopes


def positive_data_accepted(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Schema-valid requests succeed, except where a rule the schema cannot state refuses them,
    with a documented status: a `cursor` is valid only if this API returned it (it is opaque),
    `/v1/usage` needs `start <= end` within 366 days (400), an embedding model that cannot
    shorten its vectors refuses OpenAI's `dimensions` (400), an Idempotency-Key the fuzzer
    already sent with another body is reused (422): state, not shape; and a body is at most
    API_MAX_BODY_BYTES (413), a bound on bytes that JSON Schema cannot state."""
    if "cursor" in (case.query or {}) or case.operation.path == "/v1/usage":
        return None
    if response.status_code == 422 and _error(response, "code") == "idempotency_key_reused":
        return None
    if response.status_code == 413 and _error(response, "code") == "payload_too_large":
        return None
    if response.status_code == 400 and _error(response, "param") == "dimensions":
        return None  # whether a model can shorten its vectors is the model's to say, not the schema's
    if case.operation.path == "/v1/batches" and _only_item_rules(response):
        return None
    return positive_data_acceptance(ctx, response, case)


# A batch item's `body` is validated by its endpoint's own rules, some of which no schema states
# (its model existing and being allowed, `stream` refused in a batch), and custom ids must be unique.
ITEM_RULE = re.compile(r"^requests\[\d+\]\.(body(\.|$)|custom_id$)")


def _only_item_rules(response: Response) -> bool:
    try:
        details = response.json()["error"]["details"]
    except (ValueError, KeyError, TypeError):
        return False
    return response.status_code == 400 and bool(details) and all(ITEM_RULE.match(d["param"] or "") for d in details)


def _error(response: Response, field: str) -> str | None:
    """A field of the error object, which sits under `error` in both formats."""
    try:
        return response.json()["error"][field]
    except (ValueError, KeyError, TypeError):
        return None
