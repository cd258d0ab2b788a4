"""Completions, chat and embeddings: pick the model, run its backend, report the cost.

Services take plain values and return plain results; the charge they report is committed by the
pipeline together with the idempotency key (apps/api/pipeline.py, step 8)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import async_to_sync

from apps.backends.base import Backend, ChatMessage, Generation, GenerationParams, StreamEvent, Usage
from apps.backends.registry import backend_for
from apps.core.errors import InvalidRequest
from apps.core.ids import prefixed_id
from apps.customers.principal import Principal
from apps.models_registry.catalog import CatalogModel
from apps.models_registry.models import Model
from apps.models_registry.services import model_get
from apps.usage.charges import Charge


@dataclass(frozen=True, slots=True)
class InferenceResult:
    data: dict[str, Any]
    charge: Charge


@dataclass(frozen=True, slots=True)
class StreamStart:
    """A generation to stream, and its charge with usage still zero (the stream fills it in)."""

    generation: AsyncIterator[StreamEvent]
    charge: Charge


def inference_model(*, principal: Principal, model_id: str, kind: str) -> tuple[CatalogModel, Backend]:
    """The model a request names and its backend: 404 unknown, 403 not allowed, 400 wrong kind."""
    model = model_get(principal=principal, model_id=model_id, param="model")
    if model.kind != kind:
        raise InvalidRequest(
            f"The model '{model.id}' is a {model.kind} model; this endpoint needs a {kind} model.", param="model"
        )
    return model, backend_for(backend=model.backend, config=model.config)


def generation_params(validated: dict[str, Any]) -> GenerationParams:
    return GenerationParams(
        max_tokens=validated["max_tokens"],
        temperature=validated.get("temperature"),
        top_p=validated.get("top_p"),
        stop=tuple(validated.get("stop", ())),
        seed=validated.get("seed"),
    )


def chat_messages(validated: dict[str, Any]) -> list[ChatMessage]:
    return [ChatMessage(role=m["role"], content=m["content"]) for m in validated["messages"]]


def completion_create(*, principal: Principal, validated: dict[str, Any]) -> InferenceResult:
    model, backend = inference_model(principal=principal, model_id=validated["model"], kind=Model.Kind.CHAT)
    generation = async_to_sync(backend.complete)(prompt=validated["prompt"], params=generation_params(validated))
    data = _generated(prefixed_id("cmpl"), model, generation, choice={"text": generation.text})
    return InferenceResult(data=data, charge=_charge(principal, model, "completions", generation))


def chat_completion_create(*, principal: Principal, validated: dict[str, Any]) -> InferenceResult:
    model, backend = inference_model(principal=principal, model_id=validated["model"], kind=Model.Kind.CHAT)
    generation = async_to_sync(backend.chat)(messages=chat_messages(validated), params=generation_params(validated))
    message = {"role": "assistant", "content": generation.text}
    data = _generated(prefixed_id("chatcmpl"), model, generation, choice={"message": message})
    return InferenceResult(data=data, charge=_charge(principal, model, "chat.completions", generation))


def completion_stream(*, principal: Principal, validated: dict[str, Any]) -> StreamStart:
    model, backend = inference_model(principal=principal, model_id=validated["model"], kind=Model.Kind.CHAT)
    generation = backend.complete_stream(prompt=validated["prompt"], params=generation_params(validated))
    return StreamStart(generation=generation, charge=_charge(principal, model, "completions", None))


def chat_completion_stream(*, principal: Principal, validated: dict[str, Any]) -> StreamStart:
    model, backend = inference_model(principal=principal, model_id=validated["model"], kind=Model.Kind.CHAT)
    generation = backend.chat_stream(messages=chat_messages(validated), params=generation_params(validated))
    return StreamStart(generation=generation, charge=_charge(principal, model, "chat.completions", None))


def embeddings_create(*, principal: Principal, validated: dict[str, Any]) -> InferenceResult:
    model, backend = inference_model(principal=principal, model_id=validated["model"], kind=Model.Kind.EMBEDDING)
    result = async_to_sync(backend.embed)(inputs=validated["input"])
    data = {
        "model": model.id,
        "items": [{"index": i, "embedding": vector} for i, vector in enumerate(result.vectors)],
        "usage": usage_dict(result.usage),
    }
    charge = Charge(principal.customer_id, principal.token_id, model.id, "embeddings", result.usage)
    return InferenceResult(data=data, charge=charge)


def usage_dict(usage: Any) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def _generated(
    result_id: str, model: CatalogModel, generation: Generation, *, choice: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": result_id,
        "model": model.id,
        "created_at": datetime.now(UTC),
        "choices": [{"index": 0, **choice, "finish_reason": generation.finish_reason}],
        "usage": usage_dict(generation.usage),
    }


def _charge(principal: Principal, model: CatalogModel, endpoint: str, generation: Generation | None) -> Charge:
    usage = generation.usage if generation is not None else Usage(prompt_tokens=0)
    return Charge(principal.customer_id, principal.token_id, model.id, endpoint, usage)
