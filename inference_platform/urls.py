"""The project's URLs. `/v1/` is composed here from each app's viewsets, on one DRF router."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularSwaggerView

from apps.batches.views import BatchViewSet
from apps.inference.views import InferenceViewSet, ModelViewSet
from apps.operations.metrics_view import metrics_view
from apps.pipeline.documents import OpenApiDocumentViewSet
from apps.pipeline.http import ApiRouter, UnknownPathViewSet, server_error
from apps.usage.views import UsageViewSet

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

urlpatterns = [
    path("v1/", include(v1)),
    path("admin/", admin.site.urls),
    path("docs", SpectacularSwaggerView.as_view(url="/v1/openapi.json"), name="docs"),
    path("metrics", metrics_view, name="metrics"),
]

handler500 = server_error
