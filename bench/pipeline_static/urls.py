from django.urls import path

from .views import StaticModelViewSet

urlpatterns = [path("v1/models", StaticModelViewSet.as_view({"get": "list"}))]
