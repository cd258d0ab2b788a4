"""The enabled models, cached in each process, so that listing models or resolving the model of
an inference request costs no database query.

Like the token cache (apps/customers/token_cache.py): any save or delete of a Model bumps a
generation number in the shared cache; every process compares it on each use and reloads when it
moved, so an operator's change in the admin applies on the next request in every worker. If the
shared cache is down, the catalog is reloaded at most once a second.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache

from apps.core.db import db_call

logger = logging.getLogger(__name__)

GENERATION_KEY = "models:generation"
STALE_AFTER_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class CatalogModel:
    id: str
    kind: str
    backend: str
    config: dict[str, Any]
    description: str
    context_length: int | None
    max_output_tokens: int | None  # the largest max_tokens a request may ask for (chat models)
    created_at: datetime
    public: dict[str, Any]  # the API's representation, serialized once per load


class ModelCatalog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, CatalogModel] | None = None
        self._generation: object = None
        self._loaded_at = 0.0

    def enabled(self) -> dict[str, CatalogModel]:
        """Enabled models by id, in id order. May read the database: not on an event loop."""
        models, generation = self._current()
        return models if models is not None else self._load(generation)

    async def aenabled(self) -> dict[str, CatalogModel]:
        """`enabled()` for the event loop: only a reload reads the database, in a worker thread."""
        models, generation = self._current()
        return models if models is not None else await db_call(self._load, generation)

    def fresh(self) -> dict[str, CatalogModel] | None:
        """The models if they are loaded and current, else None; never reads the database."""
        return self._current()[0]

    def _current(self) -> tuple[dict[str, CatalogModel] | None, object]:
        """The models if they are fresh (else None), and the shared generation to load under."""
        try:
            generation = cache.get(GENERATION_KEY)
            stale = generation != self._generation
        except Exception:
            generation, stale = self._generation, time.monotonic() - self._loaded_at > STALE_AFTER_SECONDS
        return (None if stale else self._models), generation

    def clear(self) -> None:
        with self._lock:
            self._models = None

    def _load(self, generation: object) -> dict[str, CatalogModel]:
        from .models import Model
        from .serializers import ModelSerializer

        rows = list(Model.objects.filter(enabled=True).order_by("id"))
        models = {
            row.id: CatalogModel(
                id=row.id,
                kind=row.kind,
                backend=row.backend,
                config=dict(row.config or {}),
                description=row.description,
                context_length=row.context_length,
                max_output_tokens=row.output_token_limit,
                created_at=row.created_at,
                public=dict(ModelSerializer(row).data),
            )
            for row in rows
        }
        with self._lock:
            self._models, self._generation, self._loaded_at = models, generation, time.monotonic()
        return models


def bump_generation() -> None:
    try:
        cache.set(GENERATION_KEY, secrets.token_hex(8), timeout=None)
    except Exception:
        logger.warning("model catalog: could not publish a change; other processes reload within 1 s")
    catalog.clear()


catalog = ModelCatalog()
