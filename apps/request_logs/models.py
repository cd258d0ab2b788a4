from __future__ import annotations

from django.db import models
from django.utils import timezone


class RequestLog(models.Model):
    """One row per `/v1/` request. Never the Authorization header, a secret or a body.

    Rejected requests without a valid token (401/429) are the exception: they are aggregated per
    client IP, path, status and minute into one row whose `count` says how many there were
    (`apps.request_logs.noise`), so a scanner cannot grow this table without bound.
    """

    request_id = models.CharField(max_length=64, db_index=True)  # `req_…`, or `batch_…:<index>` for a batch item
    created_at = models.DateTimeField(default=timezone.now)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False
    )
    token_prefix = models.CharField(max_length=16, blank=True)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    status = models.PositiveSmallIntegerField()
    # 2, 4 or 5: an equality the admin's "2xx/4xx/5xx" filter can walk an index with.
    status_class = models.GeneratedField(
        expression=models.F("status") / 100, output_field=models.PositiveSmallIntegerField(), db_persist=True
    )
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
    count = models.PositiveIntegerField(default=1, help_text="Requests this row stands for (>1: aggregated noise).")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Every admin list and dashboard query is "newest first within a bounded filter".
            models.Index(fields=["-created_at", "-id"], name="reqlog_recent"),
            models.Index(fields=["customer", "-created_at"], name="reqlog_customer_recent"),
            models.Index(fields=["status_class", "-created_at"], name="reqlog_class_recent"),
            models.Index(fields=["error_code", "-created_at"], name="reqlog_error_recent"),
            models.Index(fields=["model", "-created_at"], name="reqlog_model_recent"),
            models.Index(fields=["token_prefix", "-created_at"], name="reqlog_token_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.method} {self.path} {self.status}"
