"""Schema-driven fuzzing: schemathesis generates requests for every operation of the committed
openapi/schema.yaml and openapi/openai.yaml, valid and invalid ones, and sends them to a real
uvicorn server twice, with a valid token and without one.

Checks: schemathesis's own (no 5xx, every status documented, content types and bodies match the
schema, invalid data rejected, valid data accepted, auth enforced, undocumented methods refused)
plus the wire contract of each (`fuzz_checks`: `/v1`'s envelope, or OpenAI's objects and errors;
the request id and rate-limit headers on both).

The server runs the deterministic fake backend only: the two local models' rows point at it, so a
request naming them is served in microseconds instead of running llama.cpp. Bounded: a fixed number
of examples per operation (`HARDENING_FUZZ_EXAMPLES`, default 30), derandomized so that CI is
reproducible (`HARDENING_FUZZ_RANDOM=1` explores new inputs locally), no deadline per example.
Every finding so far has a regression test in test_bad_input.py or here.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from apps.request_logs.models import RequestLog
from tests.hardening.fuzz_checks import openai_wire_contract, positive_data_accepted, wire_contract
from tests.hardening.shared_db import QUIET_LOG_WRITER, while_sqlite_is_busy
from tests.support.factories import make_fake_model, make_token
from tests.support.live_server import live_server

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "openapi"
EXAMPLES = int(os.environ.get("HARDENING_FUZZ_EXAMPLES", "30"))
CHAT_MODELS = ["smollm2-135m-instruct", "fake-chat"]
EMBEDDING_MODELS = ["all-minilm-l6-v2", "fake-embed"]
UNLIMITED = 1_000_000  # far above what the fuzzer sends: the limiter must not decide the answers

# NUL is refused in every string (DRF; C engines would cut the text there): not generated here,
# covered by test_bad_input.py. Tokens are this test's business (`caller`), not the generator's:
# a generated Authorization header would be overridden and turn a negative case into a positive one.
# A body over API_MAX_BODY_BYTES is refused with 413 whatever else is wrong with it: the batch item
# schemas (typed per endpoint) let the generator build bodies of several MiB.
# Schemathesis's default list of rejections, and 413.
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"allow-x00": False, "with-security-parameters": False},
        "checks": {"negative_data_rejection": {"expected-statuses": REJECTED}},
    }
)
schema = schemathesis.openapi.from_path(SCHEMA_DIR / "schema.yaml", config=CONFIG)
openai_schema = schemathesis.openapi.from_path(SCHEMA_DIR / "openai.yaml", config=CONFIG)
answers: Counter[tuple[str, str, int]] = Counter()  # (caller, operation, status) -> how many


def flatmap_body(context: schemathesis.HookContext, body: object) -> st.SearchStrategy[object]:
    """Random model names are all 404s; name a real model in about two of three bodies, so that
    the successful answers (and streams) are fuzzed too. Only a plain, valid `model` is swapped:
    a negative case must stay negative."""
    model = body.get("model") if isinstance(body, dict) else None
    if not isinstance(model, str) or not 1 <= len(model) <= 100:
        return st.just(body)
    assert isinstance(body, dict)
    known = EMBEDDING_MODELS if context.operation.path.endswith("/embeddings") else CHAT_MODELS
    return st.sampled_from([*known, model]).map(lambda name: {**body, "model": name})


def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, object] | None
) -> st.SearchStrategy[object]:
    """Likewise `GET …/models/{model_id}`: a real id in about four of five cases."""
    model_id = (path_parameters or {}).get("model_id")
    if not isinstance(model_id, str):
        return st.just(path_parameters)
    names = [*CHAT_MODELS, *EMBEDDING_MODELS, model_id]
    return st.sampled_from(names).map(lambda name: {**(path_parameters or {}), "model_id": name})


for document in (schema, openai_schema):
    document.hook(flatmap_body)
    document.hook(flatmap_path_parameters)


@dataclass(frozen=True)
class FuzzTarget:
    base_url: str
    token: str


@pytest.fixture(scope="module")
def server(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """One server for the module; each test commits its own rows (`transactional_db`), which the
    server reads through the shared database."""
    env = {"RATE_LIMIT_ANONYMOUS_PER_SECOND": str(UNLIMITED), "SSE_PING_SECONDS": "60", **QUIET_LOG_WRITER}
    with live_server(env=env) as base_url:
        yield base_url
    # The server's log writer writes its last rows as it stops, after the last test's cleanup: they
    # would be found by the next module's tests.
    with django_db_blocker.unblock():
        RequestLog.objects.all().delete()
    print(f"\nschema fuzzing: {answers.total()} requests")
    for (caller, operation, status), count in sorted(answers.items()):
        print(f"  {caller:9} {operation:32} {status}: {count}")


@pytest.fixture
def target(server: str, transactional_db: None) -> FuzzTarget:
    return FuzzTarget(base_url=server, token=while_sqlite_is_busy(_fuzz_rows))


def _fuzz_rows() -> str:
    make_fake_model("fake-chat", kind="chat", reply_tokens=4)
    make_fake_model("fake-embed", kind="embedding", dimensions=8)
    # The real models' ids, served by the fake backend: the fuzzer may name them, cheaply.
    make_fake_model("smollm2-135m-instruct", kind="chat", reply_tokens=4)
    make_fake_model("all-minilm-l6-v2", kind="embedding", dimensions=384)
    return make_token(customer="fuzz", rate=UNLIMITED).secret


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("HARDENING_FUZZ_RANDOM") != "1",
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@pytest.mark.parametrize("caller", ["token", "anonymous"])
@FUZZ_SETTINGS
def test_every_operation_keeps_the_contract(case: schemathesis.Case, caller: str, target: FuzzTarget) -> None:
    call_and_check(case, caller, target, wire_contract)


@openai_schema.parametrize()
@pytest.mark.parametrize("caller", ["token", "anonymous"])
@FUZZ_SETTINGS
def test_every_openai_operation_keeps_openais_format(case: schemathesis.Case, caller: str, target: FuzzTarget) -> None:
    call_and_check(case, caller, target, openai_wire_contract)


def call_and_check(case: schemathesis.Case, caller: str, target: FuzzTarget, contract: Any) -> None:
    headers = {"Authorization": f"Bearer {target.token}"} if caller == "token" else {}
    response = case.call_and_validate(
        base_url=target.base_url,
        headers=headers,
        additional_checks=[contract, positive_data_accepted],
        excluded_checks=[positive_data_acceptance],
        timeout=30,
    )
    answers[caller, case.operation.label, response.status_code] += 1
    if caller == "anonymous" and "authorization" not in {name.lower() for name in case.headers or {}}:
        assert response.status_code == 401
