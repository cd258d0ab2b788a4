from __future__ import annotations

from django.db import models
from django.utils import timezone


class IdempotencyRecord(models.Model):
    """The claim on (customer, key), and once completed, the response to replay (docs/idempotency.md)."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    claimed_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    # Streamed responses: the rendered SSE events, replayed in order.
    response_events = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=40)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "key"], name="idempotency_customer_key")]
        indexes = [models.Index(fields=["expires_at"], name="idempotency_expiry")]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"
