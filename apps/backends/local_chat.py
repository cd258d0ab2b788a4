"""The local chat model (`smollm2-135m-instruct`): the shared llama.cpp engine as a `ChatBackend`.

Requests go through `OpenAICompatibleBackend` to the machine's one engine (`engine_supervisor`),
with defaults that suit a 135M model: a system prompt when the caller sends none, a repeat penalty
(it loops without one), and a cap on max_tokens. An engine that died is restarted on the next
refused connection, and that request is retried once: nothing was generated yet.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from apps.backends.base import ChatMessage, Generation, GenerationParams, StreamEvent
from apps.backends.engine_files import EngineState
from apps.backends.engine_supervisor import EngineSupervisor
from apps.backends.generations import started
from apps.backends.openai_compatible import OpenAICompatibleBackend
from apps.backends.overload import Admission, EngineSlots
from apps.core.errors import ServiceUnavailable

type Call[T] = Callable[[OpenAICompatibleBackend], Awaitable[T]]
type StreamCall = Callable[[OpenAICompatibleBackend], AsyncGenerator[StreamEvent]]


@dataclass(frozen=True, slots=True)
class ChatDefaults:
    system_prompt: str = "You are a helpful assistant. Answer briefly and accurately."
    repeat_penalty: float = 1.1
    max_tokens_cap: int = 512
    max_in_flight: int = 8  # per process; beyond it 503 model_overloaded instead of a growing queue
    admission_timeout_s: float = 3.0  # the longest wait for a free engine slot, then 503 model_overloaded
    read_timeout_s: float = 60.0
    extra_body: dict[str, Any] = field(default_factory=dict)  # more llama.cpp sampling options


class LocalChatBackend:
    def __init__(self, *, supervisor: EngineSupervisor, defaults: ChatDefaults | None = None) -> None:
        self.supervisor = supervisor
        self.defaults = defaults or ChatDefaults()
        self._engine: tuple[EngineState, OpenAICompatibleBackend] | None = None
        self.admission = Admission(self.defaults.max_in_flight)

    async def context_tokens(self) -> int:
        """The most tokens (prompt + answer) one request can use: callers check prompts against it."""
        state, _ = await self._connected()
        return state.context_tokens

    async def complete(self, *, prompt: str, params: GenerationParams) -> Generation:
        return await self._call(lambda engine: engine.complete(prompt=prompt, params=self._capped(params)))

    def complete_stream(self, *, prompt: str, params: GenerationParams) -> AsyncIterator[StreamEvent]:
        return self._stream(lambda engine: engine.complete_stream(prompt=prompt, params=self._capped(params)))

    async def chat(self, *, messages: list[ChatMessage], params: GenerationParams) -> Generation:
        messages, params = self._with_system(messages), self._capped(params)
        return await self._call(lambda engine: engine.chat(messages=messages, params=params))

    def chat_stream(self, *, messages: list[ChatMessage], params: GenerationParams) -> AsyncIterator[StreamEvent]:
        messages, params = self._with_system(messages), self._capped(params)
        return self._stream(lambda engine: engine.chat_stream(messages=messages, params=params))

    async def count_tokens(self, *, text: str) -> int:
        # Tokenizing takes no generation slot in the engine: no wait for one.
        with self.admission.slot():
            return await self._with_restart(lambda engine: engine.count_tokens(text=text))

    async def aclose(self) -> None:
        # Other workers may still use the engine: stop counting as a user, and the engine exits
        # once nobody is left (`supervisor.stop()` ends it at once, for tests and `make` targets).
        self._engine = None
        await asyncio.to_thread(self.supervisor.release)

    def _capped(self, params: GenerationParams) -> GenerationParams:
        return replace(params, max_tokens=min(params.max_tokens, self.defaults.max_tokens_cap))

    def _with_system(self, messages: list[ChatMessage]) -> list[ChatMessage]:
        if any(message.role == "system" for message in messages):
            return messages
        return [ChatMessage(role="system", content=self.defaults.system_prompt), *messages]

    async def _call[T](self, call: Call[T]) -> T:
        with self.admission.slot():
            async with self._engine_slot():
                return await self._with_restart(call)

    @contextlib.asynccontextmanager
    async def _engine_slot(self) -> AsyncIterator[None]:
        """A generation slot of the engine, shared with every worker on the machine; waited for at
        most `admission_timeout_s` (then 503), so nothing queues inside the engine."""
        state, _ = await self._connected()
        slots = EngineSlots(self.supervisor.paths.slot_locks(state.slots))
        async with slots.slot(timeout_s=self.defaults.admission_timeout_s):
            yield

    async def _with_restart[T](self, call: Call[T]) -> T:
        _, engine = await self._connected()
        try:
            return await call(engine)
        except ServiceUnavailable:
            _, engine = await self._connected(reconnect=True)
            return await call(engine)

    async def _stream(self, call: StreamCall) -> AsyncIterator[StreamEvent]:
        # The first event is awaited under the restart/retry rule; after it the stream is committed.
        with self.admission.slot():
            async with self._engine_slot():
                stream = await self._with_restart(lambda engine: started(call(engine)))
                async with contextlib.aclosing(stream):
                    async for event in stream:
                        yield event

    async def _connected(self, *, reconnect: bool = False) -> tuple[EngineState, OpenAICompatibleBackend]:
        if self._engine is None or reconnect:
            state = await asyncio.to_thread(self.supervisor.ensure)
            if self._engine is None or self._engine[0] != state:
                self._engine = (state, self._backend_for(state))
        return self._engine

    def _backend_for(self, state: EngineState) -> OpenAICompatibleBackend:
        return OpenAICompatibleBackend(
            base_url=state.base_url,
            upstream_model=state.model,
            api_key=state.api_key,
            read_timeout_s=self.defaults.read_timeout_s,
            extra_body={"repeat_penalty": self.defaults.repeat_penalty, **self.defaults.extra_body},
            context_tokens=state.context_tokens,  # per slot: what a too-long prompt is told it exceeds
            # llama.cpp's server: a dropped non-streamed request runs to its end, and it closes its
            # connection after each stream without saying so (apps/backends/openai_compatible.py).
            always_stream=True,
            close_after_stream=True,
        )
