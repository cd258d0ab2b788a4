"""Run one batch item through its endpoint's service, exactly as the HTTP endpoint would.

Runs in a worker thread (the services are synchronous); their model calls hop back onto the slice's
event loop (asgiref), so items of one slice share the loop: concurrent embedding items meet in the
embeddings micro-batcher, and chat items in the engine's slots."""

from __future__ import annotations

import logging
from typing import Any

from django.db import close_old_connections

from apps.core.errors import ApiError
from apps.core.exception_handler import as_api_error
from apps.customers.principal import Principal
from apps.inference.services import usage_dict

from .claims import ItemOutcome
from .endpoints import BATCH_ENDPOINTS

logger = logging.getLogger(__name__)

# Worth another attempt later: the model or its upstream is down or slow.
RETRYABLE_STATUSES = frozenset({502, 503, 504})
OVERLOADED = "model_overloaded"


def item_execute(*, principal: Principal, endpoint: str, body: dict[str, Any], last_attempt: bool) -> ItemOutcome:
    spec = BATCH_ENDPOINTS[endpoint]
    try:
        result = spec.execute(principal=principal, validated=body)
    except Exception as exc:
        error = as_api_error(exc)
        if not isinstance(exc, ApiError):
            logger.exception("batch item failed unexpectedly")
        if error.code == OVERLOADED:
            return ItemOutcome(error=error.as_dict(), overloaded=True)
        return ItemOutcome(error=error.as_dict(), retry=error.status in RETRYABLE_STATUSES and not last_attempt)
    finally:
        # This thread is not a request: hand its database connection back (or to the pool) now.
        close_old_connections()
    response = dict(spec.response(result.data).data)
    return ItemOutcome(response=response, usage=usage_dict(result.charge.usage), charge=result.charge)
