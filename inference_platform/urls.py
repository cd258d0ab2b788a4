from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from apps.api.errors_views import server_error

urlpatterns = [
    path("v1/", include("apps.api.urls")),
    path("admin/", admin.site.urls),
    path("docs", SpectacularSwaggerView.as_view(url="/v1/openapi.json"), name="docs"),
]

handler500 = server_error
