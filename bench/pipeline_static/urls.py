from django.urls import path

from .views import StaticModelListView

urlpatterns = [path("v1/models", StaticModelListView.as_view())]
