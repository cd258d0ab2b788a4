from django.apps import AppConfig


class OpenAIApiConfig(AppConfig):
    """`/openai/v1/`: OpenAI's wire format over the same pipeline (docs/openai-compatibility.md)."""

    name = "apps.openai_api"
    verbose_name = "OpenAI-compatible API"
