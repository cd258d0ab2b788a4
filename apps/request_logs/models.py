from __future__ import annotations

from django.db import models
from django.utils import timezone


class RequestLog(models.Model):
    """One row per `/v1/` request. Never the Authorization header, a secret or a body."""

    request_id = models.CharField(max_length=32, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False
    )
    token_prefix = models.CharField(max_length=16, blank=True, db_index=True)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    status = models.PositiveSmallIntegerField()
    error_code = models.CharField(max_length=40, blank=True)
    latency_ms = models.FloatField()
    model = models.CharField(max_length=100, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    stream = models.BooleanField(default=False)
    idempotency_key = models.CharField(max_length=255, blank=True)
    replayed = models.BooleanField(default=False)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="reqlog_recent"),
            models.Index(fields=["customer", "-created_at"], name="reqlog_customer_recent"),
            models.Index(fields=["status", "-created_at"], name="reqlog_status_recent"),
            models.Index(fields=["error_code", "-created_at"], name="reqlog_error_recent"),
            models.Index(fields=["model", "-created_at"], name="reqlog_model_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.method} {self.path} {self.status}"
