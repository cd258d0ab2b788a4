"""The bad-input corpus: whatever a client sends, the answer is the right 4xx in the envelope, and
nothing is stored or charged (no UsageRecord, no IdempotencyRecord).

Extends the validation cases of tests/inference/test_endpoints.py, tests/api/test_envelope_and_errors.py
and tests/inference/test_websocket.py without repeating them. Every request that could create an
idempotency record carries an Idempotency-Key, so "nothing stored" covers the claim too.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest
from asgiref.sync import async_to_sync

from apps.idempotency.models import IdempotencyRecord
from apps.request_logs.models import RequestLog
from apps.request_logs.writer import request_log_writer
from apps.usage.models import UsageRecord
from tests.support.envelope import assert_envelope, assert_error
from tests.support.factories import make_fake_model

pytestmark = pytest.mark.django_db(transaction=True)

JSON = {"Content-Type": "application/json"}
KEYED = {**JSON, "Idempotency-Key": "bad-input-1"}
DEEP = 100_000  # nesting levels: far past Python's recursion limit, far under the body limit
STALL_S = 20.0


@pytest.fixture(autouse=True)
def fake_models(transactional_db):
    make_fake_model("fake-chat", kind="chat", reply_tokens=3)
    make_fake_model("fake-embed", kind="embedding", dimensions=8)


def assert_nothing_stored() -> None:
    assert UsageRecord.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0


def post_raw(api, token, path: str, body: bytes, headers: dict[str, str] | None = None):
    return api.post(path, token=token, content=body, headers=headers if headers is not None else KEYED)


def deeply_nested(depth: int) -> bytes:
    return b'{"model": "fake-chat", "prompt": ' + b"[" * depth + b"]" * depth + b"}"


# --- Malformed JSON -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"model": "fake-chat", "prompt": "hi"',  # truncated mid-object
        b'{"model": "fake-chat", "prompt": "h',  # truncated mid-string
        b'{"model": "fake-chat",}',  # trailing comma
        b"{'model': 'fake-chat'}",  # single quotes
        b'{"model": "fake-chat"} trailing',
        b'{"model": "fake-chat", "temperature": NaN}',  # Python's json would accept it
        b'{"model": "fake-chat", "temperature": Infinity}',
        b'{"model": "fake-chat", "prompt": "a\x00b"}',  # a raw control character inside a string
        b'{"model": "fake-chat", "prompt": "\xff\xfe"}',  # invalid UTF-8
        b'\xef\xbb\xbf{"model": "fake-chat", "prompt": "hi"}',  # a UTF-8 byte-order mark
        '{"model": "fake-chat", "prompt": "hi"}'.encode("utf-16"),
        b"\x00" * 64,
    ],
    ids=lambda body: repr(body[:24]),
)
def test_malformed_json_is_400_invalid_json(api, token, body):
    assert_error(post_raw(api, token, "/v1/completions", body), 400, "invalid_json")
    assert_nothing_stored()


@pytest.mark.parametrize("depth", [DEEP, 2_000])
@pytest.mark.parametrize("path", ["/v1/completions", "/v1/chat/completions", "/v1/embeddings"])
def test_deeply_nested_json_is_a_400_not_a_crash(api, token, path, depth):
    response = post_raw(api, token, path, deeply_nested(depth))

    assert response.status_code == 400, response.text[:300]
    assert assert_envelope(response)["error"]["code"] in ("invalid_json", "invalid_request")
    assert_nothing_stored()


@pytest.mark.parametrize("escaped", ["\\ud800", "a\\udfffb", "\\udc00\\ud800"])  # lone or reversed surrogates
@pytest.mark.parametrize(
    "template",
    [
        '{"model": "fake-chat", "prompt": "%s"}',
        '{"model": "%s", "prompt": "hi"}',
        '{"model": "fake-chat", "prompt": "hi", "%s": 1}',
    ],
    ids=["prompt", "model", "field-name"],
)
def test_lone_surrogates_are_400_not_500(api, token, template, escaped):
    # Valid JSON, but not Unicode text: it cannot be encoded as UTF-8 for the answer, the log or the database.
    response = post_raw(api, token, "/v1/completions", (template % escaped).encode())

    assert response.status_code == 400, response.text[:300]
    assert_envelope(response)
    assert_nothing_stored()


def test_surrogate_pairs_are_ordinary_text(api, token):
    # What Python's json.dumps sends for an emoji by default: a valid pair, not a lone surrogate.
    raw = b'{"model": "fake-chat", "prompt": "smile \\ud83d\\ude00"}'

    response = post_raw(api, token, "/v1/completions", raw, headers=JSON)

    assert response.status_code == 200
    assert "\U0001f600" in response.json()["data"]["choices"][0]["text"]


# --- Content types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "application/vnd.api+json",
        "",
    ],
)
def test_bodies_that_are_not_json_are_415(api, token, content_type):
    headers = {"Content-Type": content_type, "Idempotency-Key": "ct-1"} if content_type else {"Idempotency-Key": "x"}

    response = api.post("/v1/completions", token=token, content=b'{"model": "fake-chat"}', headers=headers)

    assert_error(response, 415, "unsupported_media_type")
    assert_nothing_stored()


@pytest.mark.parametrize("charset", ["base64", "zlib_codec", "utf-32"])
def test_a_charset_that_cannot_decode_the_body_is_a_400(api, token, charset):
    headers = {"Content-Type": f"application/json; charset={charset}", "Idempotency-Key": "cs-1"}

    response = api.post(
        "/v1/completions", token=token, content=b'{"model": "fake-chat", "prompt": "hi"}', headers=headers
    )

    assert response.status_code == 400, response.text[:300]
    assert_envelope(response)
    assert_nothing_stored()


# --- Huge bodies --------------------------------------------------------------------------------


async def stalled_body(*, first_bytes: int, chunk: int = 65536):
    """Sends `first_bytes`, then stalls for longer than any test may take: an answer that waited
    for the whole body would never come."""
    for _ in range(first_bytes // chunk):
        yield b" " * chunk
    await asyncio.sleep(STALL_S)
    yield b"}"


def test_declared_oversized_body_is_413_without_waiting_for_it(api, token, settings):
    headers = {**KEYED, "Content-Length": str(settings.API_MAX_BODY_BYTES * 1000)}
    started = time.monotonic()

    response = api.post("/v1/completions", token=token, content=stalled_body(first_bytes=65536), headers=headers)

    assert_error(response, 413, "payload_too_large")
    assert time.monotonic() - started < STALL_S / 2
    assert_nothing_stored()


def test_chunked_oversized_body_is_413_once_past_the_limit(api, token, settings):
    # No Content-Length: the guard counts as it reads, stops at the limit, and answers.
    body = stalled_body(first_bytes=settings.API_MAX_BODY_BYTES + 2 * 65536)
    started = time.monotonic()

    response = api.post("/v1/completions", token=token, content=body, headers=KEYED)

    assert_error(response, 413, "payload_too_large")
    assert time.monotonic() - started < STALL_S / 2
    assert_nothing_stored()


# --- Numbers, strings and fields ----------------------------------------------------------------


@pytest.mark.parametrize(
    "field,raw",
    [
        ("max_tokens", "true"),
        ("max_tokens", "null"),
        ("max_tokens", "0"),
        ("max_tokens", "4097"),
        ("max_tokens", "1e400"),
        ("max_tokens", "9" * 5000),  # past Python's int-from-string digit limit
        ("max_tokens", '"12"'),
        ("max_tokens", "[12]"),
        ("max_tokens", "{}"),
        ("temperature", "1e400"),
        ("temperature", '"hot"'),
        ("top_p", "1.0000001"),
        ("seed", "-1"),
        ("seed", str(2**63)),
        ("seed", "0.5"),
        ("stop", '["' + "s" * 65 + '"]'),
        ("stop", "[1]"),
        ("stop", "{}"),
        ("stream", '"yes please"'),
        ("stream", '"true"'),
        ("stream", "1"),
        ("temperature", '"0.5"'),
        ("max_tokens", "12.5"),
        ("model", '"' + "m" * 101 + '"'),
        ("model", "42"),
        ("prompt", '"a\\u0000b"'),  # a NUL, escaped: valid JSON, refused as text
        ("model", '"fake-chat\\u0000"'),
        ("prompt", "null"),
        ("prompt", '["a", "b"]'),
    ],
)
def test_extreme_and_mistyped_values_are_400_naming_the_field(api, token, field, raw):
    fields = {"model": '"fake-chat"', "prompt": '"hi"', field: raw}
    body = "{" + ", ".join(f'"{name}": {value}' for name, value in fields.items()) + "}"

    response = post_raw(api, token, "/v1/completions", body.encode())

    assert response.status_code == 400, (field, raw[:40], response.status_code, response.text[:300])
    error = assert_envelope(response)["error"]
    assert error["code"] in ("invalid_request", "invalid_json")
    if error["code"] == "invalid_request":
        assert error["param"].startswith(field)  # `stop[0]` for an item of `stop`
    assert_nothing_stored()


def test_minus_zero_temperature_is_valid(api, token):
    body = b'{"model": "fake-chat", "prompt": "hi", "temperature": -0.0, "top_p": 0}'
    assert post_raw(api, token, "/v1/completions", body, headers=JSON).status_code == 200


@pytest.mark.parametrize(
    "path,body,param",
    [
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "x" * 32_001}]}, "messages[0].content"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}] * 101}, "messages"),
        ("/v1/chat/completions", {"messages": [["user", "hi"]]}, "messages[0]"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}], "functions": []}, "functions"),
        ("/v1/embeddings", {"input": "x" * 8_001}, "input[0]"),
        ("/v1/embeddings", {"input": ["ok"] * 257}, "input"),
        ("/v1/embeddings", {"input": "x", "dimensions": 8}, "dimensions"),
        ("/v1/embeddings", {"input": None}, "input"),
        ("/v1/completions", {"prompt": "   "}, None),  # whitespace is a prompt: accepted
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": ""}]}, None),  # so is an empty message
        ("/v1/completions", {"model": " fake-chat", "prompt": "x"}, "404"),  # model ids are exact, not trimmed
    ],
)
def test_empty_oversized_and_unknown_inputs(api, token, path, body, param):
    model = "fake-embed" if path == "/v1/embeddings" else "fake-chat"
    body = {"model": model, **body}
    response = api.post(path, token=token, json=body, headers={"Idempotency-Key": "inputs-1"})

    if param is None:
        assert response.status_code == 200
        return
    if param == "404":
        assert_error(response, 404, "not_found")
        return
    error = assert_error(response, 400, "invalid_request")
    assert error["param"] == param
    assert_nothing_stored()


# --- Headers and URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [b"a\r\nX-Injected: yes", b"k\x00ey", b"\x7f", b"key\xff", b"\xe2\x80\xa8", b" " * 256],
    ids=repr,
)
def test_idempotency_key_injection_is_400_and_goes_nowhere(api, token, key):
    response = api.post(
        "/v1/completions", token=token, json={"model": "fake-chat", "prompt": "hi"}, headers={"Idempotency-Key": key}
    )

    assert_error(response, 400, "idempotency_key_invalid")
    assert "X-Injected" not in response.headers
    assert_nothing_stored()


def test_a_very_long_path_is_a_404_and_its_log_row_is_bounded(api, token):
    path = "/v1/" + "a" * 20_000

    response = api.get(path, token=token)

    assert_error(response, 404, "not_found")
    request_log_writer.flush()
    row = RequestLog.objects.get(request_id=response.headers["X-Request-Id"])
    assert len(row.path) <= 255


@pytest.mark.parametrize("path", ["/v1/x%00y", "/v1/models/fake%00chat", "/v1/%ff%fe"])
def test_nul_and_undecodable_paths_are_404_and_do_not_jam_the_request_log(api, token, path):
    response = api.get(path, token=token)
    after = api.get("/v1/models", token=token)

    assert_error(response, 404, "not_found")
    request_log_writer.flush()
    logged = set(RequestLog.objects.values_list("request_id", flat=True))
    assert {response.headers["X-Request-Id"], after.headers["X-Request-Id"]} <= logged
    assert request_log_writer.pending == 0


def b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).decode().rstrip("=")


@pytest.mark.parametrize(
    "query",
    [
        "cursor=!!!",
        "cursor=%00",
        "cursor=" + b64(b"not json"),
        "cursor=" + b64(b'{"id": {"$gt": ""}}'),
        "cursor=" + b64(b"12"),
        "cursor=" + b64(b"null"),
        "cursor=" + b64(b"[1, 2]"),
        "cursor=" + b64(b"true"),
        "cursor=" + b64(b"1e400"),
        "cursor=" + b64(b"NaN"),
        "cursor=" + b64(str(2**70).encode()),
        "cursor=" + b64(b"[" * 5000),
        "cursor=" + "A" * 20_000,
        "limit=0",
        "limit=-1",
        "limit=101",
        "limit=1.5",
        "limit=ten",
        "limit=" + "9" * 5000,
        "limit=%C2%B2",  # "²": a digit to str.isdigit(), not to int()
        "limit=%EF%BC%95",  # a fullwidth 5
    ],
    ids=lambda query: query[:40],
)
def test_bad_cursors_and_limits_are_400(api, token, query):
    error = assert_error(api.get(f"/v1/models?{query}", token=token), 400, "invalid_request")
    assert error["param"] in ("cursor", "limit")


def test_a_cursor_past_the_end_is_an_empty_page(api, token):
    response = api.get("/v1/models?cursor=" + b64(b'"zzzz"'), token=token)

    assert assert_envelope(response)["data"] == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    "query",
    ["start=2026-13-01", "start=0000-01-01", "end=9999-99-99", "start=" + "1" * 5000, "start=2026-01-01%00"],
    ids=lambda query: query[:30],
)
def test_bad_usage_dates_are_400(api, token, query):
    assert_error(api.get(f"/v1/usage?{query}", token=token), 400, "invalid_request")


# --- WebSocket frames ---------------------------------------------------------------------------


async def ws_connect(token: str):
    from channels.testing import WebsocketCommunicator

    from inference_platform.asgi import application

    communicator = WebsocketCommunicator(
        application, "/v1/stream", headers=[(b"authorization", f"Bearer {token}".encode())]
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def chat_frame(stream_id: str = "ok") -> dict:
    return {
        "id": stream_id,
        "type": "chat.completions",
        "body": {"model": "fake-chat", "messages": [{"role": "user", "content": "a"}]},
    }


def text(message: object) -> dict:
    return {"text_data": json.dumps(message)}


def completion(stream_id: str, body: object) -> dict:
    return text({"id": stream_id, "type": "completions", "body": body})


WS_BAD_FRAMES = [
    ({"text_data": "[" * DEEP + "]" * DEEP}, "invalid_json", None),
    ({"bytes_data": b"\xff\xfe\x00"}, "invalid_json", None),
    (text([1, 2]), "invalid_request", None),
    (text(None), "invalid_request", None),
    (text("auth"), "invalid_request", None),
    (text({"id": 7, "type": "chat.completions", "body": {}}), "invalid_request", "id"),
    (completion("x" * 101, {}), "invalid_request", "id"),
    (completion("b", ["model"]), "invalid_request", None),
    (completion("b", "hi"), "invalid_request", None),
    (text({"id": "b", "type": "completions"}), "invalid_request", None),
    ({"text_data": '{"id": "s", "type": "completions", "body": {"\\ud800": 1}}'}, "invalid_request", None),
    (completion("n", {"model": "fake-chat", "prompt": "a\x00"}), "invalid_request", "prompt"),
]


@pytest.mark.parametrize(
    "frame,code,param", WS_BAD_FRAMES, ids=lambda value: repr(value)[:40] if isinstance(value, dict) else None
)
def test_bad_websocket_frames_get_an_error_frame_and_the_socket_stays_open(token, frame, code, param):
    async def scenario():
        ws = await ws_connect(token)
        await ws.send_to(**frame)
        error = await ws.receive_json_from(timeout=5)
        await ws.send_json_to(chat_frame())
        frames = []
        while not frames or frames[-1]["meta"]["event"] not in ("done", "error"):
            frames.append(await ws.receive_json_from(timeout=5))
        await ws.disconnect()
        await asyncio.sleep(0.3)  # the server settles the charge after the last frame
        return error, frames

    error, frames = async_to_sync(scenario)()

    assert set(error) == {"data", "error", "meta"} and error["data"] is None
    assert error["error"]["code"] == code, error
    if param is not None:
        assert error["error"]["param"] == param
    assert frames[-1]["meta"]["event"] == "done"  # the socket still serves
    assert UsageRecord.objects.count() == 1  # only the good request was charged


@pytest.mark.parametrize("query", ["end=0001-01-01", "end=0001-01-29"])
def test_usage_dates_at_the_calendars_edge_are_answered_not_a_500(api, token, query):
    response = api.get(f"/v1/usage?{query}", token=token)

    assert response.status_code in (200, 400)
    assert_envelope(response)
