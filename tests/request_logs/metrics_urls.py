"""The project's URLs plus /metrics, for tests written before urls.py mounts it (harmless after)."""

from django.urls import include, path

from inference_platform.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("", include("apps.request_logs.urls")), *project_urlpatterns]
