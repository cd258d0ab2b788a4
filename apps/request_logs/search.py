"""Search in the request log: exact matches only, so every search is one index lookup.

The admin's `=field` search would compile to `UPPER(field) = UPPER(term)`, which no plain index
serves; request ids and token prefixes are case-sensitive identifiers anyway.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

REQUEST_ID_PREFIX = "req_"
TOKEN_PREFIX_PREFIX = "ipk_"


def request_log_search(*, queryset: QuerySet, term: str) -> QuerySet:
    term = term.strip()
    if not term:
        return queryset
    if term.startswith(REQUEST_ID_PREFIX):
        return queryset.filter(request_id=term)
    if term.startswith(TOKEN_PREFIX_PREFIX):
        return queryset.filter(token_prefix=term)
    return queryset.filter(Q(request_id=term) | Q(token_prefix=term))
