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


class UsageDay(models.Model):
    """The usage records summed per UTC day, customer and model, kept up to date by `rollup.py`: what
    usage reports read, so that their cost follows the days and models asked for, not the table."""

    day = models.DateField()
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, db_constraint=False)
    model = models.CharField(max_length=100)
    requests = models.PositiveBigIntegerField(default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "customer", "model"], name="usage_day_key")]
        indexes = [models.Index(fields=["customer", "day"], name="usage_day_customer")]

    def __str__(self) -> str:
        return f"{self.day} {self.customer_id} {self.model}"


class UsageRollupMark(models.Model):
    """How far the rollup has come: every usage record with an id up to `last_record_id` is in
    `UsageDay`, none after it. One row."""

    last_record_id = models.BigIntegerField(default=0)
    rolled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"usage rolled up to record {self.last_record_id}"


class DailyUsage(UsageRecord):
    """The admin's "usage per customer, day and model" page (`daily_page.py`): the rollup's rows, no
    table of its own."""

    class Meta:
        proxy = True
        verbose_name = "daily usage"
        verbose_name_plural = "daily usage"
