from __future__ import annotations

from django.db import models
from django.utils import timezone


class UsageRecord(models.Model):
    """One successful execution's token charge. Written in the same transaction as the
    idempotency key's completion, so a retry can never charge twice (docs/idempotency.md)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="usage_records")
    token = models.ForeignKey("customers.ApiToken", null=True, blank=True, on_delete=models.SET_NULL)
    model = models.CharField(max_length=100)
    endpoint = models.CharField(max_length=40)
    prompt_tokens = models.PositiveIntegerField()
    completion_tokens = models.PositiveIntegerField(default=0)
    request_id = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "created_at"], name="usage_customer_time")]

    def __str__(self) -> str:
        return f"{self.request_id} {self.model} {self.prompt_tokens}+{self.completion_tokens}"


class DailyUsage(UsageRecord):
    """The admin's "usage per customer, day and model" page (`daily_page.py`): a view over the usage
    records, no table of its own."""

    class Meta:
        proxy = True
        verbose_name = "daily usage"
        verbose_name_plural = "daily usage"
