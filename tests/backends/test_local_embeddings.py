"""all-MiniLM-L6-v2 on onnxruntime, through the micro-batcher."""

from __future__ import annotations

import asyncio
import math
import threading

import pytest

from apps.backends.local_embeddings import LocalEmbeddingsBackend
from apps.core.errors import InvalidRequest

from .conftest import Runner

pytestmark = pytest.mark.models


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))  # the vectors are unit length


def test_vectors_are_384_dim_unit_length_with_token_usage(run: Runner, embeddings: LocalEmbeddingsBackend) -> None:
    texts = ["Hello world", "A second, longer sentence to embed."]

    result = run(embeddings.embed(inputs=texts))

    assert [len(vector) for vector in result.vectors] == [384, 384]
    assert all(math.isclose(math.sqrt(cosine(v, v)), 1.0, rel_tol=1e-4) for v in result.vectors)
    assert result.usage.prompt_tokens == 4 + 11  # [CLS] hello world [SEP], [CLS] a second , ... [SEP]


def test_similar_sentences_are_closer_than_unrelated_ones(run: Runner, embeddings: LocalEmbeddingsBackend) -> None:
    cat, kitten, tax = run(
        embeddings.embed(
            inputs=["A cat sits on the mat", "A kitten is sitting on a rug", "Quarterly tax filing deadlines"]
        )
    ).vectors

    assert cosine(cat, kitten) > cosine(cat, tax)
    assert cosine(cat, kitten) > cosine(kitten, tax)


def test_concurrent_requests_share_batches_with_the_same_vectors(run: Runner) -> None:
    texts = [f"sentence number {i} is {'short' if i % 2 else 'a little bit longer than that'}" for i in range(12)]
    sizes: list[int] = []
    first_running, all_queued = threading.Event(), threading.Event()

    def hold_the_first_batch(size: int) -> None:  # the model busy while the other requests arrive
        sizes.append(size)
        if len(sizes) == 1:
            first_running.set()
            all_queued.wait(5.0)

    backend = LocalEmbeddingsBackend(on_batch=hold_the_first_batch)

    async def scenario() -> tuple[list[list[float]], list[list[float]]]:
        together = [asyncio.ensure_future(backend.embed(inputs=[texts[0]]))]
        await asyncio.to_thread(first_running.wait, 5.0)
        together += [asyncio.ensure_future(backend.embed(inputs=[text])) for text in texts[1:]]
        while backend.queue_depth < len(texts) - 1:
            await asyncio.sleep(0.001)
        all_queued.set()
        batched = [(await result).vectors[0] for result in together]
        alone = [(await backend.embed(inputs=[text])).vectors[0] for text in texts]
        return batched, alone

    batched, single = run(scenario())
    backend.batcher.close()

    assert sizes[:2] == [1, len(texts) - 1] and sum(sizes) == 2 * len(texts)
    assert all(cosine(a, b) > 0.9999 for a, b in zip(batched, single, strict=True))


def test_over_long_input_is_refused_unless_truncation_is_on(run: Runner, embeddings: LocalEmbeddingsBackend) -> None:
    long_text = "word " * 300

    with pytest.raises(InvalidRequest, match="Input 1 is longer than the model's limit of 256 tokens"):
        run(embeddings.embed(inputs=["short", long_text]))

    truncating = LocalEmbeddingsBackend(truncate=True)
    result = run(truncating.embed(inputs=[long_text]))
    truncating.batcher.close()
    assert result.usage.prompt_tokens == 256


def test_count_tokens_does_not_truncate(run: Runner, embeddings: LocalEmbeddingsBackend) -> None:
    assert run(embeddings.count_tokens(text="word " * 300)) == 302
