"""Bad input on the wire, against a real uvicorn: what an in-process client cannot send or time.

- A body declared (Content-Length) or streamed (chunked) past API_MAX_BODY_BYTES is answered 413
  while the client is still sending: the server does not wait for, nor keep, the rest.
- Oversized URLs and headers, and bytes that are not HTTP, are refused by the server; it stays up.
Raw sockets on loopback; every read is bounded by a timeout.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from apps.idempotency.models import IdempotencyRecord
from apps.usage.models import UsageRecord
from tests.hardening.shared_db import QUIET_LOG_WRITER, while_sqlite_is_busy
from tests.support.factories import make_fake_model, make_token
from tests.support.live_server import live_server

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

ANSWER_S = 10.0
CHUNK = 65536


@pytest.fixture(scope="module")
def server(django_db_setup: None) -> Iterator[str]:
    with live_server(env=QUIET_LOG_WRITER) as base:
        yield base


@pytest.fixture
def token(transactional_db: None) -> str:
    def rows() -> str:
        make_fake_model("fake-chat", kind="chat", reply_tokens=2)
        return make_token(customer="wire").secret

    return while_sqlite_is_busy(rows)


def open_socket(base: str) -> socket.socket:
    url = httpx.URL(base)
    sock = socket.create_connection((url.host, url.port), timeout=ANSWER_S)
    return sock


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body (de-chunked) of one answer, or what arrived before the server
    closed the connection or the time ran out."""
    data = b""
    deadline = time.monotonic() + ANSWER_S
    while not _complete(data) and time.monotonic() < deadline:
        chunk = sock.recv(CHUNK)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:] if ": " in line)}
    if headers.get("transfer-encoding") == "chunked":
        body = b"".join(body.split(b"\r\n")[1::2])  # size, data, size, data, …
    return status, headers, body


def _complete(data: bytes) -> bool:
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        return False
    length = next(
        (line.split(b":")[1] for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")), None
    )
    return len(body) >= int(length) if length is not None else body.endswith(b"0\r\n\r\n")


def request_head(token: str, extra: str) -> bytes:
    return (
        "POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\nIdempotency-Key: wire-1\r\n{extra}\r\n"
    ).encode()


def send_until_answered(sock: socket.socket, chunks: Iterator[bytes]) -> int:
    """Sends until the server has answered (data to read) or the chunks run out; bytes sent."""
    sent = 0
    sock.setblocking(False)
    for chunk in chunks:
        try:
            if sock.recv(1, socket.MSG_PEEK):
                break
        except BlockingIOError:
            pass
        try:
            sock.sendall(chunk)
        except (BlockingIOError, BrokenPipeError, ConnectionResetError):
            break
        sent += len(chunk)
    sock.setblocking(True)
    sock.settimeout(ANSWER_S)
    return sent


def test_a_declared_huge_body_is_413_before_it_is_sent(server, token):
    declared = 10 * 1024**3  # 10 GiB, never sent
    with open_socket(server) as sock:
        sock.sendall(request_head(token, f"Content-Length: {declared}\r\n") + b"{" + b" " * CHUNK)
        status, _, body = read_answer(sock)

    assert status == 413
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    assert UsageRecord.objects.count() == 0 and IdempotencyRecord.objects.count() == 0


def test_a_chunked_huge_body_is_413_soon_after_the_limit(server, token):
    limit = settings.API_MAX_BODY_BYTES

    def chunks() -> Iterator[bytes]:
        for _ in range(limit // CHUNK * 20):  # up to 20x the limit, if nobody answered
            yield f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"

    with open_socket(server) as sock:
        sock.sendall(request_head(token, "Transfer-Encoding: chunked\r\n"))
        sent = send_until_answered(sock, chunks())
        status, _, _ = read_answer(sock)

    assert status == 413
    assert sent < limit * 10  # answered long before the client was done
    assert UsageRecord.objects.count() == 0 and IdempotencyRecord.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /v1/" + b"a" * 200_000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\nIdempotency-Key: " + b"k" * 200_000 + b"\r\n\r\n",
        b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\n"
        + b"".join(b"X-H%d: v\r\n" % n for n in range(5000))
        + b"\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,  # a TLS hello on the plain port
        b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\nContent-Length: -5\r\n\r\n",
        b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n",
        b"POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
    ids=["200 KB path", "200 KB header", "5000 headers", "TLS hello", "negative length", "no colon", "CL and TE"],
)
def test_what_is_not_http_is_refused_and_the_server_stays_up(server, token, raw):
    with open_socket(server) as sock:
        try:
            sock.sendall(raw)
            status, _, _ = read_answer(sock)
        except (ConnectionResetError, BrokenPipeError):
            status = 0  # refused by closing: fine too

    assert status == 0 or 400 <= status < 500, status
    assert httpx.get(server + "/v1/models", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def exchange(server: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with open_socket(server) as sock:
        sock.sendall(raw)
        return read_answer(sock)


@pytest.mark.parametrize("path", ["/static/../anything", "/static/../inference_platform/settings/base.py"])
def test_a_static_path_that_climbs_out_is_refused_not_a_500(server, path):
    """Regression: Django's static handler let SuspiciousFileOperation through (a plain-text 500)."""
    status, _, body = exchange(server, f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())

    assert status == 400, (status, body[:200])
    assert b"SECRET_KEY" not in body


@pytest.mark.parametrize("path", ["/v1/models", "/v1/nothing", "/admin/login/"])
def test_a_host_not_in_allowed_hosts_is_refused_on_every_path(server, token, path):
    """Regression: `/v1/` (no Django middleware) answered 200 for `Host: evil.example.com`."""
    raw = f"GET {path} HTTP/1.1\r\nHost: evil.example.com\r\nAuthorization: Bearer {token}\r\n\r\n"
    status, headers, body = exchange(server, raw.encode())

    assert status == 400, (status, body[:200])
    if path.startswith("/v1/"):
        answer = json.loads(body)
        assert answer["data"] is None and answer["error"]["code"] == "invalid_request"
        assert answer["error"]["param"] == "Host" and headers["x-request-id"] == answer["meta"]["request_id"]


def test_a_websocket_for_another_host_is_refused_at_the_handshake(server, token):
    def handshake(host: str) -> bytes:
        return (
            f"GET /v1/stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()

    with open_socket(server) as sock:  # the same handshake for our host is accepted
        sock.sendall(handshake("127.0.0.1"))
        assert sock.recv(CHUNK).startswith(b"HTTP/1.1 101")
    status, _, _ = exchange(server, handshake("evil.example.com"))
    assert status == 403


@pytest.mark.parametrize("times_the_limit", [2, 8, 32])
@pytest.mark.parametrize("connection", ["keep-alive", "close"])
def test_a_client_that_sends_its_whole_oversized_body_first_reads_the_413(server, token, times_the_limit, connection):
    """Regression: such a client (urllib, any that says `Connection: close`) got a connection reset,
    never the 413: the server closed with the body unread, and the kernel answers unread data with
    a reset, which discards the answer waiting in the client's buffer."""
    body = b"{" + b" " * (settings.API_MAX_BODY_BYTES * times_the_limit)
    head = request_head(token, f"Content-Length: {len(body)}\r\nConnection: {connection}\r\n")
    with open_socket(server) as sock:
        try:
            sock.sendall(head + body)  # all of it, then read
            status, headers, answer = read_answer(sock)
        except ConnectionResetError:
            status, headers, answer = 0, {}, b"reset"
    print(times_the_limit, connection, status)
    assert status == 413, (status, headers)
    assert json.loads(answer)["error"]["code"] == "payload_too_large"


def test_the_drain_after_a_413_is_bounded(server, token):
    """What the server reads and discards after answering is bounded (HTTP_DRAIN_MAX_BYTES): a
    client that goes on sending is cut off. (uvicorn alone read all of it on a kept-alive connection.)"""
    from apps.core.uvicorn_protocol import DRAIN_MAX_BYTES

    chunk, sent, ceiling = b" " * (1024 * 1024), 0, DRAIN_MAX_BYTES * 3
    with open_socket(server) as sock:
        sock.sendall(request_head(token, f"Content-Length: {10 * 1024**3}\r\n"))
        try:
            while sent < ceiling:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    assert sent < DRAIN_MAX_BYTES + socket_buffers_at_most(), sent


def socket_buffers_at_most() -> int:
    """What the kernel may hold between the client's writes and the server's reads on loopback: the
    largest send buffer plus the largest receive buffer TCP's autotuning may grow to (36 MiB here)."""
    sysctl = Path("/proc/sys/net/ipv4")
    return sum(int((sysctl / f"tcp_{kind}").read_text().split()[2]) for kind in ("wmem", "rmem"))
