"""The admin's model form: what each backend needs in `config`, checked before it is saved, so an
operator's typo fails here rather than on a customer's request."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.backends.registry import config_problems

from .models import Model

KIND_OF_BACKEND = {"local_chat": "chat", "local_embeddings": "embedding"}


class ModelForm(forms.ModelForm):
    class Meta:
        model = Model
        fields = ["id", "kind", "backend", "config", "description", "context_length", "max_output_tokens", "enabled"]
        help_texts = {
            "config": (
                'Backend settings. openai_compatible: "upstream_model", then either "base_url" (one server) '
                'or "replicas": a list of URLs or {"url", "weight", "max_in_flight"} objects (a pool, '
                'docs/deploy.md); "cooldown_s", "api_key_env" (the NAME of an environment variable holding '
                'the key, never the key), "connect_timeout_s", "read_timeout_s", "extra_body", "always_stream" and '
                '"close_after_stream" (for llama.cpp\'s server: docs/deploy.md).'
            )
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        backend, config = cleaned.get("backend"), cleaned.get("config") or {}
        if backend is None:
            return cleaned
        if not isinstance(config, dict):
            self.add_error("config", "The config must be a JSON object.")
            return cleaned
        for problem in config_problems(backend=backend, config=config):
            self.add_error("config", problem)
        expected_kind = KIND_OF_BACKEND.get(backend)
        if expected_kind and cleaned.get("kind") != expected_kind:
            self.add_error("kind", f"The {backend} backend serves {expected_kind} models.")
        return cleaned
