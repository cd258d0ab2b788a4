"""The real local models through the API (docs/architecture.md, "Backends"): short prompts, few tokens.

`smollm2-135m-instruct` runs on the machine's shared llama.cpp engine (started on first use, in a
runtime folder of this test session, stopped by PID at the end); `all-minilm-l6-v2` on onnxruntime.
A second, separately started llama.cpp server stands in for an external OpenAI-compatible upstream.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import pytest

from apps.backends.engine_supervisor import EngineSpec, EngineSupervisor
from apps.models_registry.models import Model
from apps.usage.models import UsageRecord
from tests.support.envelope import assert_envelope, assert_error

pytestmark = [pytest.mark.models, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def engine_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    runtime = tmp_path_factory.mktemp("api-engine")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENGINE_RUNTIME_DIR", str(runtime))
        yield
    EngineSupervisor(EngineSpec(runtime_dir=runtime)).stop()


@pytest.fixture(scope="module")
def upstream_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineSupervisor]:
    supervisor = EngineSupervisor(EngineSpec(runtime_dir=tmp_path_factory.mktemp("upstream"), context_tokens=512))
    supervisor.ensure()
    yield supervisor
    supervisor.stop()


def chat(api, token, content: str, **extra):
    body = {"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": content}], **extra}
    return api.post("/v1/chat/completions", token=token, json=body)


def test_chat_and_completion_give_real_text_and_usage(api, token, local_models):
    answer = assert_envelope(chat(api, token, "What is 2 + 2?", max_tokens=12))["data"]
    completion = api.post(
        "/v1/completions",
        token=token,
        json={"model": "smollm2-135m-instruct", "prompt": "The capital of France is", "max_tokens": 6},
    ).json()["data"]

    assert answer["choices"][0]["message"]["content"].strip()
    assert answer["usage"]["prompt_tokens"] > 5 and 0 < answer["usage"]["completion_tokens"] <= 12
    assert completion["choices"][0]["text"].strip()
    assert UsageRecord.objects.count() == 2


def test_streamed_chat_from_the_real_model(api, token, local_models):
    response = chat(api, token, "Say hi", max_tokens=8, stream=True)

    events = [block.split("\n")[0] for block in response.text.strip().split("\n\n")]
    assert events[-1] == "event: done" and events.count("event: chunk") >= 1


def test_prompt_longer_than_the_context_is_400(api, token, local_models):
    error = assert_error(chat(api, token, "word " * 6000, max_tokens=4), 400, "invalid_request")
    assert re.fullmatch(r"The prompt has 6,0\d\d tokens; this model's context is 2,048\.", error["message"])
    assert error["param"] == "messages"


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_embeddings_put_similar_sentences_closer(api, token, local_models):
    texts = ["A cat sits on the mat", "A kitten is sitting on a rug", "Quarterly tax filing deadlines"]
    data = api.post("/v1/embeddings", token=token, json={"model": "all-minilm-l6-v2", "input": texts}).json()["data"]
    cat, kitten, tax = (item["embedding"] for item in data["items"])

    assert len(cat) == 384 and math.isclose(cosine(cat, cat), 1.0, rel_tol=1e-4)
    assert cosine(cat, kitten) > cosine(cat, tax) and cosine(cat, kitten) > cosine(kitten, tax)
    assert data["usage"]["prompt_tokens"] > 0


def test_openai_compatible_model_on_a_second_llamacpp_server(api, token, upstream_engine, monkeypatch):
    state = upstream_engine.ensure()
    monkeypatch.setenv("TEST_UPSTREAM_KEY", state.api_key)
    Model.objects.create(
        id="upstream-smollm",
        kind="chat",
        backend="openai_compatible",
        config={"base_url": f"{state.base_url}/v1", "upstream_model": state.model, "api_key_env": "TEST_UPSTREAM_KEY"},
    )
    body = {"model": "upstream-smollm", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 8}

    data = assert_envelope(api.post("/v1/chat/completions", token=token, json=body))["data"]

    assert data["model"] == "upstream-smollm" and data["choices"][0]["message"]["content"]
    assert data["usage"]["completion_tokens"] > 0
