"""An in-process cache of authenticated tokens, so that a request costs no database query.

Every change to a customer or token bumps a generation number in the shared cache (Redis in
production); each process compares it on every request and drops its entries when it moved. That
makes revocation and limit changes effective on the next request in every worker. Expiry is
checked locally against the cached `expires_at`. If the shared cache is down, entries older than
`STALE_AFTER_SECONDS` are re-read from the database, so auth keeps working and a revocation still
lands within a second.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from django.core.cache import cache

from .principal import Principal

logger = logging.getLogger(__name__)

GENERATION_KEY = "tokens:generation"
STALE_AFTER_SECONDS = 1.0
MAX_ENTRIES = 50_000

Loader = Callable[[str], Principal | None]


class Miss:
    """`TokenCache.cached` found nothing it may answer with: the database has to be asked."""


MISS = Miss()


class TokenCache:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # secret hash -> (principal or None for an unknown token, fetched at)
        self._entries: OrderedDict[str, tuple[Principal | None, float]] = OrderedDict()
        self._generation: object = None

    def get(self, secret_hash: str, load: Loader, *, may_load: Callable[[], bool] | None = None) -> Principal | None:
        """The cached answer for this token, else `load`'s, unless `may_load` says no: then None,
        and nothing is cached (the token may well be valid)."""
        hit = self.cached(secret_hash)
        if not isinstance(hit, Miss):
            return hit
        if may_load is not None and not may_load():
            return None
        principal = load(secret_hash)
        self._store(secret_hash, principal)
        return principal

    def cached(self, secret_hash: str) -> Principal | None | Miss:
        """The cached answer for this token (None: known to be invalid), or MISS. Never touches the
        database, so the event loop may call it."""
        shared_ok = self._sync_generation()
        with self._lock:
            hit = self._entries.get(secret_hash)
        if hit is not None and (shared_ok or self._clock() - hit[1] < STALE_AFTER_SECONDS):
            return hit[0]
        return MISS

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _store(self, secret_hash: str, principal: Principal | None) -> None:
        with self._lock:
            self._entries[secret_hash] = (principal, self._clock())
            self._entries.move_to_end(secret_hash)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)

    def _sync_generation(self) -> bool:
        """Drop every entry if the shared generation moved. False when the shared cache is down."""
        try:
            generation = cache.get(GENERATION_KEY)
        except Exception:
            logger.warning("token cache: shared cache unavailable; re-reading tokens from the database")
            return False
        if generation != self._generation:
            with self._lock:
                self._entries.clear()
                self._generation = generation
        return True


def bump_generation() -> None:
    """Invalidate every process's token cache. Called after any customer or token change."""
    try:
        cache.set(GENERATION_KEY, secrets.token_hex(8), timeout=None)
    except Exception:
        # Other processes fall back to re-reading entries older than a second.
        logger.warning("token cache: could not publish an invalidation; stale entries expire in 1 s")
    token_cache.clear()


token_cache = TokenCache()
