"""Batch state transitions: start, finish, fail, cancel. Each is one conditional UPDATE (or one
transaction starting with one), so concurrent workers and a concurrent cancel cannot disagree:
whichever statement matches first wins, the others match nothing."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone

from apps.core.errors import PermissionDenied
from apps.customers.models import ApiToken
from apps.customers.principal import Principal
from apps.customers.services import token_principal

from .models import BatchItem, BatchJob

Batch, Item = BatchJob.Status, BatchItem.Status
UNFINISHED = (Item.PENDING, Item.RUNNING)
# A transiently failed item waits, unowned, in `running` until its retry time: cancel takes it too.
CANCELLABLE = Q(status=Item.PENDING) | Q(status=Item.RUNNING, lease_owner="")


def batch_start(*, public_id: str) -> BatchJob | None:
    """Mark the batch running (first time) and alive; None if there is nothing to run."""
    now = timezone.now()
    BatchJob.objects.filter(public_id=public_id, status=Batch.QUEUED).update(status=Batch.RUNNING, started_at=now)
    BatchJob.objects.filter(public_id=public_id, status__in=[Batch.RUNNING, Batch.CANCELLING]).update(heartbeat_at=now)
    batch = BatchJob.objects.filter(public_id=public_id).first()
    return None if batch is None or batch.is_terminal else batch


def batch_finish(*, batch_pk: int) -> bool:
    """completed (or cancelled, if a cancel is pending) once no item is left to run."""
    unfinished = BatchItem.objects.filter(batch_id=OuterRef("pk"), status__in=UNFINISHED)
    return (
        BatchJob.objects.filter(pk=batch_pk, status__in=[Batch.RUNNING, Batch.CANCELLING])
        .exclude(Exists(unfinished))
        .update(
            status=Case(When(status=Batch.CANCELLING, then=Value(Batch.CANCELLED)), default=Value(Batch.COMPLETED)),
            finished_at=timezone.now(),
        )
        == 1
    )


def batch_ended(*, batch_pk: int) -> bool:
    """Whether the batch is terminal, or deleted: what a slice that could not finish it checks, for
    another may have (a cancel that found no item running finishes the batch itself)."""
    return not BatchJob.objects.filter(pk=batch_pk).exclude(status__in=BatchJob.TERMINAL).exists()


def batch_fail(*, batch_pk: int, error: dict[str, Any]) -> None:
    """The batch cannot run at all: it fails, and so do the items it had not run."""
    now = timezone.now()
    with transaction.atomic():
        moved = BatchJob.objects.filter(pk=batch_pk, status__in=[Batch.QUEUED, Batch.RUNNING, Batch.CANCELLING]).update(
            status=Batch.FAILED, error=error, finished_at=now
        )
        if moved:
            failed = BatchItem.objects.filter(CANCELLABLE, batch_id=batch_pk).update(
                status=Item.FAILED, error=error, finished_at=now, lease_owner="", lease_expires_at=None
            )
            BatchJob.objects.filter(pk=batch_pk).update(failed_count=F("failed_count") + failed)


def batch_cancel_request(*, batch_pk: int) -> None:
    """Pending items are cancelled now; items already running finish (and are charged), then the
    batch is `cancelled`. Cancelling a finished batch changes nothing."""
    now = timezone.now()
    with transaction.atomic():
        moved = BatchJob.objects.filter(pk=batch_pk, status__in=[Batch.QUEUED, Batch.RUNNING]).update(
            status=Batch.CANCELLING, cancel_requested_at=now
        )
        if moved:
            cancelled = BatchItem.objects.filter(CANCELLABLE, batch_id=batch_pk).update(
                status=Item.CANCELLED, finished_at=now, lease_owner="", lease_expires_at=None
            )
            BatchJob.objects.filter(pk=batch_pk).update(cancelled_count=F("cancelled_count") + cancelled)
    batch_finish(batch_pk=batch_pk)


def batch_principal(*, batch: BatchJob) -> Principal | None:
    """The creating token as it is NOW: a revoked or expired token, or a deactivated customer,
    stops the batch's remaining work (revoking a leaked token must stop what it queued)."""
    if batch.token_id is None:  # the token was deleted
        return None
    token = (
        ApiToken.objects.select_related("customer")
        .filter(pk=batch.token_id, revoked_at__isnull=True, customer__is_active=True)
        .first()
    )
    if token is None or (token.expires_at is not None and token.expires_at <= timezone.now()):
        return None
    return token_principal(token)


def token_gone_error() -> dict[str, Any]:
    return PermissionDenied(
        "The token that created this batch was revoked or has expired; its remaining requests were not run."
    ).as_dict()


def items_abandoned_cancel(*, batch_pk: int) -> None:
    """In a cancelling batch, items whose worker died (lease expired) are cancelled, not re-run."""
    with transaction.atomic():
        cancelled = BatchItem.objects.filter(
            batch_id=batch_pk,
            batch__status=Batch.CANCELLING,
            status=Item.RUNNING,
            lease_expires_at__lt=timezone.now(),
        ).update(status=Item.CANCELLED, finished_at=timezone.now(), lease_owner="", lease_expires_at=None)
        if cancelled:
            BatchJob.objects.filter(pk=batch_pk).update(cancelled_count=F("cancelled_count") + cancelled)
