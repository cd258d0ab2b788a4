"""Completions, chat and embeddings: pick the model, run its backend, report the cost.

Services take a principal and a typed request (requests.py) and return the answer's data with its
charge, or a started stream; the pipeline commits the charge together with the idempotency key
(apps/pipeline/exchange.py, step 7). Nothing here knows which door the request came through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apps.backends.base import ChatBackend, EmbeddingBackend, Generation, Usage
from apps.backends.registry import backend_for
from apps.core.errors import InvalidRequest, ServiceUnavailable
from apps.core.ids import prefixed_id
from apps.customers.principal import Principal
from apps.models_registry.catalog import CatalogModel
from apps.models_registry.models import Model
from apps.models_registry.services import model_get
from apps.usage.charges import Charge

from .generation_events import GenerationEvents, usage_dict
from .requests import ChatRequest, CompletionRequest, EmbeddingRequest


@dataclass(frozen=True, slots=True)
class Completed:
    data: dict[str, Any]
    charge: Charge


async def complete(principal: Principal, request: CompletionRequest) -> Completed:
    model, backend = await _chat_model(principal, request.model, request.params.max_tokens)
    generation = await backend.complete(prompt=request.prompt, params=request.params)
    data = _generated(prefixed_id("cmpl"), model, generation, choice={"text": generation.text})
    return Completed(data, _charge(principal, model, "completions", generation.usage))


async def chat(principal: Principal, request: ChatRequest) -> Completed:
    model, backend = await _chat_model(principal, request.model, request.params.max_tokens)
    generation = await backend.chat(messages=request.messages, params=request.params)
    message = {"role": "assistant", "content": generation.text}
    data = _generated(prefixed_id("chatcmpl"), model, generation, choice={"message": message})
    return Completed(data, _charge(principal, model, "chat.completions", generation.usage))


async def complete_stream(principal: Principal, request: CompletionRequest) -> GenerationEvents:
    model, backend = await _chat_model(principal, request.model, request.params.max_tokens)
    stream = backend.complete_stream(prompt=request.prompt, params=request.params)
    return await GenerationEvents.start(stream, charge=_charge(principal, model, "completions", Usage(0)))


async def chat_stream(principal: Principal, request: ChatRequest) -> GenerationEvents:
    model, backend = await _chat_model(principal, request.model, request.params.max_tokens)
    stream = backend.chat_stream(messages=request.messages, params=request.params)
    return await GenerationEvents.start(stream, charge=_charge(principal, model, "chat.completions", Usage(0)))


async def embed(principal: Principal, request: EmbeddingRequest) -> Completed:
    model = await _model_of_kind(principal, request.model, Model.Kind.EMBEDDING)
    backend = backend_for(backend=model.backend, config=model.config)
    if not isinstance(backend, EmbeddingBackend):
        raise _misconfigured(model)
    result = await backend.embed(inputs=request.inputs)
    data = {
        "model": model.id,
        "items": [{"index": i, "embedding": vector} for i, vector in enumerate(result.vectors)],
        "usage": usage_dict(result.usage),
    }
    return Completed(data, _charge(principal, model, "embeddings", result.usage))


async def _chat_model(principal: Principal, model_id: str, max_tokens: int) -> tuple[CatalogModel, ChatBackend]:
    model = await _model_of_kind(principal, model_id, Model.Kind.CHAT)
    problem = output_limit_problem(model.id, model.max_output_tokens, max_tokens)
    if problem is not None:
        raise InvalidRequest(problem, param="max_tokens")
    backend = backend_for(backend=model.backend, config=model.config)
    if not isinstance(backend, ChatBackend):
        raise _misconfigured(model)
    return model, backend


async def _model_of_kind(principal: Principal, model_id: str, kind: str) -> CatalogModel:
    """The model a request names: 404 unknown, 403 not allowed, 400 the wrong kind."""
    model = await model_get(principal=principal, model_id=model_id, param="model")
    if model.kind != kind:
        raise InvalidRequest(wrong_kind(model.id, model.kind, kind), param="model")
    return model


def output_limit_problem(model_id: str, limit: int | None, max_tokens: int) -> str | None:
    """Why `max_tokens` is too many for this model, if it is: a request is refused, never clamped."""
    if limit is None or max_tokens <= limit:
        return None
    return f"max_tokens is {max_tokens}, but the model '{model_id}' generates at most {limit} tokens per request."


def wrong_kind(model_id: str, kind: str, wanted: str) -> str:
    def article(word: str) -> str:
        return "an" if word[:1] in "aeiou" else "a"

    return (
        f"The model '{model_id}' is {article(kind)} {kind} model; this endpoint needs {article(wanted)} {wanted} model."
    )


def _misconfigured(model: CatalogModel) -> ServiceUnavailable:
    # A registry row whose backend cannot serve its kind (the admin's form refuses to save one).
    return ServiceUnavailable(f"The model '{model.id}' is misconfigured; an operator has to fix it.")


def _generated(
    result_id: str, model: CatalogModel, generation: Generation, *, choice: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": result_id,
        "model": model.id,
        "created_at": utc_timestamp(datetime.now(UTC)),
        "choices": [{"index": 0, **choice, "finish_reason": generation.finish_reason}],
        "usage": usage_dict(generation.usage),
    }


def utc_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as DRF's DateTimeField writes it (the schema's `date-time`)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _charge(principal: Principal, model: CatalogModel, endpoint: str, usage: Usage) -> Charge:
    return Charge(principal.customer_id, principal.token_id, model.id, endpoint, usage)
