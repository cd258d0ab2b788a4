"""The project's URLs. `/v1/` (and OpenAI's wire format, `/openai/v1/`) are composed here from each
app's viewsets, on DRF routers."""

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularSwaggerView

from apps.batches.views import BatchViewSet
from apps.inference.views import InferenceViewSet, ModelViewSet
from apps.openai_api.views import OpenAIModelViewSet, OpenAIUnknownPathViewSet, OpenAIViewSet
from apps.operations.metrics_view import metrics_view
from apps.pipeline.documents import OpenApiDocumentViewSet
from apps.pipeline.http import ApiRouter, UnknownPathViewSet, server_error
from apps.usage.views import UsageViewSet
from inference_platform.landing import favicon, landing

router = ApiRouter()
router.register("", InferenceViewSet, basename="inference")  # completions, chat/completions, embeddings
router.register("models", ModelViewSet, basename="model")
router.register("batches", BatchViewSet, basename="batch")
router.register("", UsageViewSet, basename="usage")

v1 = [
    *router.urls,
    path("openapi.json", OpenApiDocumentViewSet.as_view({"get": "json"}), name="openapi-json"),
    path("openapi.yaml", OpenApiDocumentViewSet.as_view({"get": "yaml"}), name="openapi-yaml"),
    re_path(r"^.*$", UnknownPathViewSet.as_view(UnknownPathViewSet.ACTIONS), name="unknown-path"),
]

# OpenAI's wire format over the same pipeline (docs/openai-compatibility.md).
openai_router = ApiRouter()
openai_router.register("", OpenAIViewSet, basename="openai")
openai_router.register("models", OpenAIModelViewSet, basename="openai-model")
openai_v1 = [
    *openai_router.urls,
    re_path(r"^.*$", OpenAIUnknownPathViewSet.as_view(OpenAIUnknownPathViewSet.ACTIONS), name="openai-unknown-path"),
]

urlpatterns = [
    path("", landing, name="landing"),
    path("favicon.ico", favicon, name="favicon"),
    path("v1/", include(v1)),
    path("openai/v1/", include(openai_v1)),
    path("admin/", admin.site.urls),
    path("docs", SpectacularSwaggerView.as_view(url="/v1/openapi.json"), name="docs"),
    path("docs/", RedirectView.as_view(url="/docs", permanent=True)),
    path("metrics", metrics_view, name="metrics"),
]

handler500 = server_error
