"""`/v1/` URL composition. Each app owns its endpoints; this file only mounts them."""

from django.urls import include, path, re_path

from apps.inference.views import ChatCompletionView, CompletionView, EmbeddingsView
from apps.models_registry.views import ModelDetailView, ModelListView
from apps.usage.views import UsageView

from .errors_views import UnknownPathView
from .schema_views import OpenApiJsonView, OpenApiYamlView

urlpatterns = [
    path("completions", CompletionView.as_view(), name="completions"),
    path("chat/completions", ChatCompletionView.as_view(), name="chat-completions"),
    path("embeddings", EmbeddingsView.as_view(), name="embeddings"),
    path("usage", UsageView.as_view(), name="usage"),
    path("models", ModelListView.as_view(), name="model-list"),
    path("models/<str:model_id>", ModelDetailView.as_view(), name="model-detail"),
    path("", include("apps.batches.urls")),
    path("openapi.json", OpenApiJsonView.as_view(), name="openapi-json"),
    path("openapi.yaml", OpenApiYamlView.as_view(), name="openapi-yaml"),
    re_path(r"^.*$", UnknownPathView.as_view(), name="unknown-path"),
]
