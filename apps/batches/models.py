"""A batch job and its items (docs/batches.md). The item row is the unit of exactly-once work: it moves
pending -> running (claimed under a lease) -> completed | failed, or pending -> cancelled, and its
result commits in the same transaction as its `UsageRecord` (see `claims.py`)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class BatchJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLING = "cancelling"
        CANCELLED = "cancelled"

    TERMINAL = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)

    # The internal key orders the list (cursor pagination needs a unique, ordered field);
    # clients only ever see `public_id`.
    public_id = models.CharField(max_length=40, unique=True, editable=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="batches")
    token = models.ForeignKey("customers.ApiToken", null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    metadata = models.JSONField(default=dict, blank=True)
    error = models.JSONField(null=True, blank=True, help_text="Why the batch could not run (status failed).")
    # Counters move in the same transaction as the item that moves, so they are always exact.
    total_count = models.PositiveIntegerField(default=0)
    completed_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    cancelled_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # Liveness of whichever worker runs this batch; the watchdog task re-enqueues a stale one.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True, help_text="The last `batch_run` task enqueued.")
    # The Idempotency-Key claim that created it: a retry after a crash between this batch's commit
    # and the key's completion finds the batch instead of creating a second one.
    idempotency_record_id = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        indexes = [models.Index(fields=["customer", "-id"], name="batch_customer_recent")]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL


class BatchItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    batch = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="items")
    index = models.PositiveIntegerField(help_text="Position in the submitted list; results keep this order.")
    custom_id = models.CharField(max_length=64)
    endpoint = models.CharField(max_length=40)
    body = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    response = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    usage = models.JSONField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A claim: who holds the item (one random token per claim) and until when.
    lease_owner = models.CharField(max_length=40, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "index"], name="batch_item_position"),
            models.UniqueConstraint(fields=["batch", "custom_id"], name="batch_item_custom_id"),
        ]
        indexes = [models.Index(fields=["batch", "status"], name="batch_item_status")]

    def __str__(self) -> str:
        return f"{self.batch_id}[{self.index}] {self.custom_id}"


def item_request_id(*, batch_public_id: str, index: int) -> str:
    """An item's `UsageRecord.request_id`: unique there, so an item can be charged only once."""
    return f"{batch_public_id}:{index}"
