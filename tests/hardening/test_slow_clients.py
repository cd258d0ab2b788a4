"""Slow clients against a real uvicorn with the project's protocol (`apps/core/uvicorn_protocol.py`):
the time to send a request's headers is bounded, so slowloris connections cannot pile up.

Regression: 50 connections sending headers one byte a second stayed open for a whole 46 s test.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.hardening.shared_db import QUIET_LOG_WRITER, while_sqlite_is_busy
from tests.support.factories import make_fake_model, make_token
from tests.support.live_server import live_server

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

HEADER_TIMEOUT_S = 2.0
CLOSED_WITHIN_S = HEADER_TIMEOUT_S + 4.0  # the bound plus room for a busy machine; never reached before
HEAD = b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\nX-Padding: " + b"p" * 64 + b"\r\n\r\n"


@pytest.fixture(scope="module")
def server(django_db_setup: None) -> Iterator[str]:
    env = {**QUIET_LOG_WRITER, "HTTP_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT_S)}
    with live_server(env=env) as base:
        yield base


def connect(base: str) -> socket.socket:
    url = httpx.URL(base)
    return socket.create_connection((url.host, url.port), timeout=CLOSED_WITHIN_S + 5)


def trickle(base: str, data: bytes, result: dict[str, object], *, sock: socket.socket | None = None) -> None:
    """Send `data` a byte a second until the server closes; record when and what it answered."""
    sock = sock or connect(base)
    started = time.monotonic()
    sock.setblocking(False)
    answer = b""
    try:
        for byte in data:
            try:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
            except BlockingIOError:
                pass
            if time.monotonic() - started > CLOSED_WITHIN_S:
                break
            try:
                sock.send(bytes([byte]))
            except OSError:
                break
            time.sleep(1.0)
        sock.settimeout(1.0)
        try:
            while chunk := sock.recv(4096):
                answer += chunk
        except (TimeoutError, OSError):
            pass
    finally:
        result["seconds"] = time.monotonic() - started
        result["answer"] = answer
        sock.close()


def test_connections_that_send_headers_a_byte_a_second_are_closed(server):
    results: list[dict[str, object]] = [{} for _ in range(20)]
    threads = [threading.Thread(target=trickle, args=(server, HEAD, result)) for result in results]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    served = httpx.get(server + "/v1/models", timeout=10)  # others are still served meanwhile
    for thread in threads:
        thread.join(timeout=CLOSED_WITHIN_S + 10)

    assert served.status_code == 401
    for result in results:
        assert float(result["seconds"]) < CLOSED_WITHIN_S, result  # closed by the server, not by us
        assert bytes(result["answer"]).startswith(b"HTTP/1.1 408 "), result


def test_a_connection_that_sends_nothing_is_closed(server):
    with connect(server) as sock:
        started = time.monotonic()
        assert sock.recv(4096) == b""  # closed, no answer: there was no request
        assert time.monotonic() - started < CLOSED_WITHIN_S


def test_the_next_request_on_a_kept_alive_connection_is_bounded_too(server):
    sock = connect(server)
    sock.sendall(HEAD)
    first = b""
    while not first.endswith(b"0\r\n\r\n"):  # the whole (chunked) first answer
        chunk = sock.recv(65536)
        assert chunk, first
        first += chunk
    assert first.startswith(b"HTTP/1.1 401 ")  # served; the connection stays open
    result: dict[str, object] = {}
    trickle(server, HEAD, result, sock=sock)

    assert float(result["seconds"]) < CLOSED_WITHIN_S and bytes(result["answer"]).startswith(b"HTTP/1.1 408 ")


def test_a_slow_answer_is_not_cut_once_the_headers_arrived(server):
    def rows() -> str:
        make_fake_model("fake-slow", kind="chat", reply_tokens=6, token_delay_s=0.5)  # 3 s > the bound
        return make_token(customer="patient").secret

    secret = while_sqlite_is_busy(rows)
    body = {"model": "fake-slow", "prompt": "one two"}
    response = httpx.post(
        server + "/v1/completions", json=body, headers={"Authorization": f"Bearer {secret}"}, timeout=30
    )

    assert response.status_code == 200, response.text
