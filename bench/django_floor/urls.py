from django.urls import path

from .views import models_list

urlpatterns = [path("v1/models", models_list)]
