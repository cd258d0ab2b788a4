"""Idempotency keys: hold, complete, release, replay. Every case is in docs/idempotency.md."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.errors import IdempotencyKeyInvalid, IdempotencyKeyReused, IdempotencyRequestInProgress

from .models import IdempotencyRecord

MAX_KEY_LENGTH = 255
State = IdempotencyRecord.State


@dataclass(frozen=True, slots=True)
class KeyHold:
    """This request holds the key (its record is `in_progress` under its request id) and must
    complete or release it."""

    record_id: int
    request_id: str


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: bytes
    headers: dict[str, str]
    events: list[str] | None
    request_id: str


def idempotency_key_validate(raw: str) -> str:
    if not 1 <= len(raw) <= MAX_KEY_LENGTH or not all(" " <= ch <= "~" for ch in raw):
        raise IdempotencyKeyInvalid(param="Idempotency-Key")
    return raw


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    """method + path + SHA-256 of the canonical JSON body (raw bytes if it is not JSON)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to canonicalize
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), b"\n", path.encode(), b"\n", canonical):
        digest.update(part)
    return digest.hexdigest()


def idempotency_begin(*, customer_id: int, key: str, fingerprint: str, request_id: str) -> KeyHold | StoredResponse:
    """Hold the key, or answer with what the earlier request with this key decided."""
    for _ in range(3):  # a competing delete or takeover can race us; the loop settles it
        hold = _try_insert(customer_id=customer_id, key=key, fingerprint=fingerprint, request_id=request_id)
        if hold is not None:
            return hold
        existing = IdempotencyRecord.objects.filter(customer_id=customer_id, key=key).first()
        if existing is None:
            continue
        if existing.expires_at <= timezone.now():
            _delete_if_unchanged(existing)
            continue
        if existing.fingerprint != fingerprint:
            raise IdempotencyKeyReused(param="Idempotency-Key")
        if existing.state == State.COMPLETED:
            return _stored(existing)
        takeover = _take_over_if_stale(existing, request_id=request_id)
        if takeover is not None:
            return takeover
        raise IdempotencyRequestInProgress(param="Idempotency-Key")
    raise IdempotencyRequestInProgress(param="Idempotency-Key")


def idempotency_complete(
    *, hold: KeyHold, status: int, body: bytes, headers: dict[str, str], events: list[str] | None = None
) -> None:
    """Store the final response. Call inside the transaction that records the usage charge."""
    updated = IdempotencyRecord.objects.filter(
        pk=hold.record_id, state=State.IN_PROGRESS, request_id=hold.request_id
    ).update(
        state=State.COMPLETED,
        response_status=status,
        response_body=body,
        response_headers=headers,
        response_events=events,
    )
    if updated != 1:
        # Another request took the key over (ours was presumed dead): roll back our charge.
        raise IdempotencyRequestInProgress(param="Idempotency-Key")


def idempotency_release(*, hold: KeyHold) -> None:
    """Free the key after a rejection or a failure, so that a retry executes."""
    IdempotencyRecord.objects.filter(pk=hold.record_id, state=State.IN_PROGRESS, request_id=hold.request_id).delete()


def idempotency_prune(*, batch_size: int = 1000) -> int:
    """Delete expired records in small batches; returns how many went."""
    deleted = 0
    while True:
        ids = list(
            IdempotencyRecord.objects.filter(expires_at__lte=timezone.now()).values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        deleted += IdempotencyRecord.objects.filter(pk__in=ids).delete()[0]


def _try_insert(*, customer_id: int, key: str, fingerprint: str, request_id: str) -> KeyHold | None:
    now = timezone.now()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                customer_id=customer_id,
                key=key,
                fingerprint=fingerprint,
                claimed_at=now,
                expires_at=now + timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS),
                request_id=request_id,
            )
    except IntegrityError:
        return None
    return KeyHold(record_id=record.pk, request_id=request_id)


def _take_over_if_stale(existing: IdempotencyRecord, *, request_id: str) -> KeyHold | None:
    stale_before = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS)
    if existing.claimed_at > stale_before:
        return None
    # Compare-and-set on the old hold: of several retries, exactly one takes it over.
    taken = IdempotencyRecord.objects.filter(
        pk=existing.pk, state=State.IN_PROGRESS, claimed_at=existing.claimed_at, request_id=existing.request_id
    ).update(claimed_at=timezone.now(), request_id=request_id)
    return KeyHold(record_id=existing.pk, request_id=request_id) if taken == 1 else None


def _delete_if_unchanged(existing: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=existing.pk, expires_at=existing.expires_at).delete()


def _stored(record: IdempotencyRecord) -> StoredResponse:
    headers: dict[str, Any] = record.response_headers or {}
    return StoredResponse(
        status=record.response_status or 200,
        body=bytes(record.response_body or b""),
        headers={str(k): str(v) for k, v in headers.items()},
        events=record.response_events,
        request_id=record.request_id,
    )
