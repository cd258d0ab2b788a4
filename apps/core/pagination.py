"""Cursor pagination with a stable order (docs/api-contract.md, "Envelope"): `{"items": [...], "next_cursor": ...}`.

The cursor is the opaque, url-safe encoding of the last item's ordering key, so pages stay stable
while rows are added (unlike offsets).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet

from .errors import InvalidRequest

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Any]
    next_cursor: str | None


def page_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    # ASCII digits only ("²".isdigit() is true, int("²") fails) and few of them (int() refuses 4,300+).
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4) or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be an integer from 1 to {MAX_LIMIT}.", param="limit")
    return int(raw)


def paginate(queryset: QuerySet[Any], *, cursor: str | None, limit: int, key: str) -> Page:
    """Keyset pagination over one unique field; `key` is the field, '-field' for descending."""
    field = key.lstrip("-")
    descending = key.startswith("-")
    queryset = queryset.order_by(key)
    if cursor:
        after = _decode(cursor)
        try:
            queryset = queryset.filter(**{f"{field}__{'lt' if descending else 'gt'}": after})
        except (TypeError, ValueError, ValidationError):  # a value of another type than the field's
            raise _bad_cursor() from None
    rows = list(queryset[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode(_value(rows[-1], field)) if has_more else None
    return Page(items=rows, next_cursor=next_cursor)


def paginate_sorted(items: Sequence[Any], *, cursor: str | None, limit: int, key: str) -> Page:
    """The same cursors over an in-memory sequence already sorted ascending by `key`."""
    after = _decode(cursor) if cursor else None
    try:
        rest = [item for item in items if after is None or getattr(item, key) > after]
    except TypeError:  # a cursor of another type than the key's: not one this API returned
        raise _bad_cursor() from None
    page = rest[:limit]
    next_cursor = _encode(getattr(page[-1], key)) if len(rest) > limit else None
    return Page(items=page, next_cursor=next_cursor)


def _value(row: Model, field: str) -> Any:
    return getattr(row, field)


def _encode(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _decode(cursor: str) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeError, RecursionError):
        raise _bad_cursor() from None
    # Cursors are made from one ordering key: a string or a 64-bit integer, nothing else.
    if isinstance(value, str) or (type(value) is int and -(2**63) <= value < 2**63):
        return value
    raise _bad_cursor()


def _bad_cursor() -> InvalidRequest:
    return InvalidRequest("cursor is not a cursor this API returned.", param="cursor")
