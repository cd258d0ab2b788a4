from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from apps.api.errors_views import server_error
from apps.request_logs.metrics_view import metrics_view

urlpatterns = [
    path("v1/", include("apps.api.urls")),
    path("admin/", admin.site.urls),
    path("docs", SpectacularSwaggerView.as_view(url="/v1/openapi.json"), name="docs"),
    path("metrics", metrics_view, name="metrics"),
]

handler500 = server_error
