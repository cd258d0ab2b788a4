from django.urls import path

from .views import chat_completions

urlpatterns = [path("v1/chat/completions", chat_completions)]
