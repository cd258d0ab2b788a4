"""Which tokens are in use, known to every process through the shared cache (Redis in production).

Past its per-IP budget of failures a caller's token is not looked up, so that guessing learns
nothing (docs/reliability.md, "Guessing"). A worker whose token cache never held a token (a second
worker, a new or restarted one) cannot tell a token in use from a guess on its own: it refused the
customer with 429 and logged the request as scanner noise whenever someone on the same address
(a NAT, a proxy) was over budget. So a token that authenticated from the database is marked here,
by its hash, and a marked token is looked up whatever the budget. A right guess of a token nobody
uses still learns nothing; a token in use was never hidden (the worker that serves it answers it
from its cache).

Best effort: without the shared cache, only the process's own token cache knows its tokens.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

KEY = "tokens:in-use:{}"


def token_mark_in_use(secret_hash: str) -> None:
    try:
        cache.set(KEY.format(secret_hash), 1, timeout=settings.TOKEN_IN_USE_SECONDS)
    except Exception:
        logger.warning("tokens in use: shared cache unavailable, token not marked")


def token_in_use(secret_hash: str) -> bool:
    try:
        return cache.get(KEY.format(secret_hash)) is not None
    except Exception:
        return False
