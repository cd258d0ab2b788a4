from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

model_id_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9._-]*$", "Lowercase letters, digits, '.', '_' and '-'; starts with a letter or digit."
)


class Model(models.Model):
    """A model the API serves, and which backend serves it (docs/architecture.md, "Backends")."""

    class Kind(models.TextChoices):
        CHAT = "chat", "Chat and completions"
        EMBEDDING = "embedding", "Embeddings"

    class BackendName(models.TextChoices):
        LOCAL_CHAT = "local_chat", "Local llama.cpp engine"
        LOCAL_EMBEDDINGS = "local_embeddings", "Local ONNX embeddings"
        OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible upstream"
        FAKE = "fake", "Deterministic fake (tests and benchmarks only)"

    id = models.CharField(primary_key=True, max_length=100, validators=[model_id_validator])
    kind = models.CharField(max_length=16, choices=Kind.choices)
    backend = models.CharField(max_length=32, choices=BackendName.choices)
    config = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "Backend settings. openai_compatible: base_url, upstream_model, api_key_env (the NAME of an "
            "environment variable holding the key, never the key), timeout_seconds."
        ),
    )
    description = models.CharField(max_length=300, blank=True)
    context_length = models.PositiveIntegerField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id
