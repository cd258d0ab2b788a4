from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: everything the request path needs about a token, with no database access."""

    token_id: int
    token_prefix: str
    customer_id: int
    customer_name: str
    requests_per_second: int
    allowed_models: frozenset[str] | None  # None: every enabled model
    expires_at: datetime | None

    def may_use(self, model_id: str) -> bool:
        return self.allowed_models is None or model_id in self.allowed_models

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at
