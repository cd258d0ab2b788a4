"""The local embedding model (`all-minilm-l6-v2`) as an `EmbeddingBackend`: MiniLM behind a `MicroBatcher`.

Each input is one batcher item, so inputs of concurrent requests share model runs. An input longer
than the model's 256 tokens is refused with a 400 naming it (silently embedding only its start would
return a vector for a text the caller did not send); `truncate=True` embeds the first 256 instead.
Usage is the tokens the model ran on, counted by its tokenizer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tokenizers import Tokenizer

from apps.backends.base import Embeddings, Usage
from apps.backends.microbatcher import MicroBatcher
from apps.backends.minilm import MAX_TOKENS, Encoded, MiniLmEncoder, load_tokenizer
from apps.core.errors import InvalidRequest


class LocalEmbeddingsBackend:
    def __init__(
        self,
        *,
        max_batch_size: int = 32,
        max_queue: int = 1024,
        truncate: bool = False,
        threads: int = 0,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.truncate = truncate
        self._threads = threads
        self._encoder: MiniLmEncoder | None = None
        self._counter: Tokenizer | None = None
        self.batcher: MicroBatcher[str, Encoded] = MicroBatcher(
            self._encode,
            max_batch_size=max_batch_size,
            max_queue=max_queue,
            on_batch=on_batch,
            name="local-embeddings",
        )

    @property
    def queue_depth(self) -> int:
        """Inputs waiting for the model (a metric; 503s start past `max_queue`)."""
        return self.batcher.queue_depth

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory (it loads on first use, `_encode`)."""
        return self._encoder is not None

    async def embed(self, *, inputs: list[str]) -> Embeddings:
        results = await self.batcher.submit_many(inputs)
        too_long = [index for index, result in enumerate(results) if result.truncated]
        if too_long and not self.truncate:
            raise InvalidRequest(
                f"Input {too_long[0]} is longer than the model's limit of {MAX_TOKENS} tokens.", param="input"
            )
        usage = Usage(prompt_tokens=sum(result.tokens for result in results))
        return Embeddings(vectors=[result.vector for result in results], usage=usage)

    async def count_tokens(self, *, text: str) -> int:
        return await asyncio.to_thread(self._count, text)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.batcher.close)

    def _encode(self, texts: list[str]) -> list[Encoded]:
        # Loaded on the batcher's thread at first use: the 0.3 s load never blocks an event loop.
        if self._encoder is None:
            self._encoder = MiniLmEncoder(threads=self._threads)
        return self._encoder.encode(texts)

    def _count(self, text: str) -> int:
        # Untruncated, so a count can say how far over the limit a text is.
        if self._counter is None:
            self._counter = load_tokenizer(max_tokens=None)
        return len(self._counter.encode(text).ids)
