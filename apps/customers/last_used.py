"""`ApiToken.last_used_at`, written at most once a minute per token and process (NetBox's habit).

The pipeline marks a token on every request (`seen`, memory only); the request-log writer's thread
writes the marks (`flush`), so no request waits for this UPDATE.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)


class LastUsed:
    def __init__(self) -> None:
        self._written_at: dict[int, float] = {}
        self._marked: set[int] = set()
        self._lock = threading.Lock()

    def seen(self, token_id: int) -> None:
        now = time.monotonic()
        if now - self._written_at.get(token_id, -1e9) < settings.TOKEN_LAST_USED_WRITE_SECONDS:
            return
        with self._lock:
            self._written_at[token_id] = now
            self._marked.add(token_id)

    def flush(self) -> None:
        """Write the marked tokens' `last_used_at` in one UPDATE. Never raises: a lost mark only
        delays `last_used_at` by a minute."""
        from .models import ApiToken

        with self._lock:
            token_ids, self._marked = self._marked, set()
        if not token_ids:
            return
        try:
            # queryset.update sends no post_save: last_used_at must not invalidate token caches.
            ApiToken.objects.filter(pk__in=token_ids).update(last_used_at=timezone.now())
        except Exception:
            logger.warning("could not update last_used_at for %d tokens", len(token_ids))

    def discard(self) -> None:
        with self._lock:
            self._marked.clear()
            self._written_at.clear()


last_used = LastUsed()
