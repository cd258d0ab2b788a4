"""Secrets: a token's secret is stored nowhere (only its SHA-256), it is compared in constant time,
and no secret or traceback reaches a response or a log line, whatever goes wrong."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets as std_secrets
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError, connection

from apps.customers.services import customer_get_or_create
from apps.request_logs.writer import request_log_writer
from tests.support.factories import make_fake_model, make_token

pytestmark = pytest.mark.django_db(transaction=True)

LEAK_MARKERS = ("Traceback", 'File "', "/work/", "site-packages", "RuntimeError", "OperationalError")


@pytest.fixture(autouse=True)
def fake_models(transactional_db):
    make_fake_model("fake-chat", kind="chat", reply_tokens=3)
    make_fake_model("fake-embed", kind="embedding", dimensions=8)


def exercise(api, secret: str) -> None:
    """Everything a token's secret could travel through: success, replay, errors, a stream, a
    WebSocket, the usage report, a model lookup."""
    keyed = {"Idempotency-Key": "scan-1"}
    body = {"model": "fake-chat", "prompt": "one two"}
    api.post("/v1/completions", token=secret, json=body, headers=keyed)
    api.post("/v1/completions", token=secret, json=body, headers=keyed)  # replayed from storage
    api.post("/v1/chat/completions", token=secret, json={"model": "fake-chat", "messages": [], "stream": True})
    chat = {"model": "fake-chat", "messages": [{"role": "user", "content": "x"}], "stream": True}
    api.post("/v1/chat/completions", token=secret, json=chat, headers={"Idempotency-Key": "scan-2"})
    api.post("/v1/embeddings", token=secret, json={"model": "fake-embed", "input": "x"})
    api.get("/v1/models/nope", token=secret)
    api.get("/v1/usage", token=secret)
    api.get("/v1/models", token=secret[:-1] + "x")  # a near miss
    api.get("/v1/models", headers={"Authorization": secret})  # no scheme
    async_to_sync(_websocket_round)(secret)


async def _websocket_round(secret: str) -> None:
    from channels.testing import WebsocketCommunicator

    from inference_platform.asgi import application

    ws = WebsocketCommunicator(application, "/v1/stream", headers=[(b"authorization", f"Bearer {secret}".encode())])
    await ws.connect()
    message = {"model": "fake-chat", "messages": [{"role": "user", "content": "hi"}]}
    await ws.send_json_to({"id": "s", "type": "chat.completions", "body": message})
    while (await ws.receive_json_from(timeout=5))["meta"]["event"] not in ("done", "error"):
        pass
    await ws.disconnect()
    await asyncio.sleep(0.2)


def every_stored_value() -> list[tuple[str, str]]:
    """(table, text) for every value of every column of every table, sessions decoded."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            columns = [column[0] for column in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    found.append((f"{table}.{column}", _as_text(value)))
                    if table == "django_session" and column == "session_data":
                        found.append((table + " (decoded)", repr(SessionStore().decode(value))))
    return found


def _as_text(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def test_no_table_holds_a_token_secret(api, admin_client):
    issued = [make_token(customer="scan", name=f"t{n}") for n in range(2)]
    admin_secret = _token_created_in_the_admin(admin_client)
    for token in issued:
        exercise(api, token.secret)
    request_log_writer.flush(everything=True)

    stored = every_stored_value()

    assert len(stored) > 100  # the scan saw the request log, usage, keys, sessions…
    for secret in [token.secret for token in issued] + [admin_secret]:
        random_part = secret.split("_", 2)[2]  # after `ipk_<prefix>_`; it may itself contain "_"
        leaks = [where for where, text in stored if random_part in text]
        assert not leaks, f"a token secret is stored in {leaks}"


def _token_created_in_the_admin(admin_client) -> str:
    customer = customer_get_or_create(name="scan-admin")
    form = {"customer": str(customer.pk), "name": "admin-made", "expires_at_0": "", "expires_at_1": ""}
    created = admin_client.post("/admin/customers/apitoken/add/", form)["Location"]
    match = re.search(r'id="token-secret"[^>]*>([^<]+)<', admin_client.get(created).content.decode())
    assert match, "the created page shows the secret once"
    return match.group(1)


def test_the_token_check_compares_in_constant_time(api, monkeypatch):
    from apps.customers import services
    from apps.customers.token_cache import token_cache

    calls = []
    real = std_secrets.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(services.std_secrets, "compare_digest", spy)
    secret = make_token(customer="timing").secret
    token_cache.clear()

    assert api.get("/v1/models", token=secret).status_code == 200
    assert len(calls) == 1 and calls[0][0] == calls[0][1] and secret not in calls[0]  # hashes, never secrets


# --- Nothing leaks when things break -------------------------------------------------------------


def _explode(**_kwargs: Any) -> Any:
    raise RuntimeError("internal detail: /work/main/secret-path password=hunter2")


def _database_down(**_kwargs: Any) -> Any:
    raise OperationalError("could not connect to server at 10.0.0.5 password=hunter2")


@pytest.mark.parametrize("failure", [_explode, _database_down], ids=["bug", "database down"])
def test_errors_show_neither_secrets_nor_tracebacks(api, monkeypatch, caplog, failure):
    from apps.inference import views

    caplog.set_level(logging.DEBUG)
    secret = make_token(customer="leak").secret
    monkeypatch.setattr(views, "models_visible_to", failure)
    responses = [
        api.get("/v1/models", token=secret),  # 500 or 503
        api.get("/v1/models", token=secret + "x"),  # 401
        api.post("/v1/completions", token=secret, content=b'{"model": ', headers={"Content-Type": "application/json"}),
        api.post("/v1/completions", token=secret, json={"model": "fake-chat", "prompt": "x", "max_tokens": "x"}),
    ]

    for response in responses:
        assert response.status_code in (400, 401, 500, 503)
        assert secret not in response.text and "hunter2" not in response.text
        for marker in LEAK_MARKERS:
            assert marker not in response.text, (marker, response.text[:300])
    for line in _log_lines(caplog):
        assert secret not in line and secret.split("_", 2)[2] not in line, line[:300]
    tracebacks = [record for record in caplog.records if record.exc_info]
    # The one traceback is the bug's, logged under its request id, for the operator.
    assert len(tracebacks) == (1 if failure is _explode else 0)
    if tracebacks:
        assert responses[0].headers["X-Request-Id"] in tracebacks[0].getMessage()


def _log_lines(caplog) -> list[str]:
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    return [formatter.format(record) + repr(record.__dict__) for record in caplog.records]
