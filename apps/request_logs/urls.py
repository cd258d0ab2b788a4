"""Mounted by the project's urls.py, outside `/v1/` (the API's lean stack has no sessions)."""

from django.urls import path

from .metrics_view import metrics_view

urlpatterns = [path("metrics", metrics_view, name="metrics")]
