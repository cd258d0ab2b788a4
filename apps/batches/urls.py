"""`/v1/batches…`, mounted by apps/api/urls.py."""

from django.urls import path

from .views import BatchCancelView, BatchDetailView, BatchEventsView, BatchListView, BatchResultsView

urlpatterns = [
    path("batches", BatchListView.as_view(), name="batch-list"),
    path("batches/<str:batch_id>", BatchDetailView.as_view(), name="batch-detail"),
    path("batches/<str:batch_id>/results", BatchResultsView.as_view(), name="batch-results"),
    path("batches/<str:batch_id>/events", BatchEventsView.as_view(), name="batch-events"),
    path("batches/<str:batch_id>/cancel", BatchCancelView.as_view(), name="batch-cancel"),
]
