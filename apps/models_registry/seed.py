"""The local models that ship as packages (docs/architecture.md, "Backends"), seeded on first migrate."""

from __future__ import annotations

from typing import Any

LOCAL_MODELS: list[dict[str, Any]] = [
    {
        "id": "smollm2-135m-instruct",
        "kind": "chat",
        "backend": "local_chat",
        "description": "SmolLM2-135M-Instruct (GGUF) on the local llama.cpp engine.",
        "context_length": 2048,
    },
    {
        "id": "all-minilm-l6-v2",
        "kind": "embedding",
        "backend": "local_embeddings",
        "description": "all-MiniLM-L6-v2, int8 ONNX: 384-dimensional normalized sentence embeddings.",
        "context_length": 256,
    },
]


def seed_local_models(model_class: Any = None) -> None:
    """Create the local models if missing; never overwrite an operator's edits."""
    if model_class is None:
        from .models import Model as model_class
    for spec in LOCAL_MODELS:
        model_class.objects.get_or_create(id=spec["id"], defaults=spec)
