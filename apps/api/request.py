"""DRF's Request, plus what the pipeline learns about a request as it goes (typed, not ad hoc)."""

from __future__ import annotations

from rest_framework.request import Request

from apps.core.errors import ApiError
from apps.customers.principal import Principal
from apps.idempotency.services import Claim
from apps.ratelimits.limiter import RateLimitState
from apps.usage.charges import Charge

from .request_facts import RequestFacts


class ApiRequest(Request):
    facts: RequestFacts  # step 1
    auth_failure: ApiError | None = None  # step 2, raised in step 4
    rate_limit: RateLimitState | None = None  # step 3
    idempotency_claim: Claim | None = None  # step 6
    pending_charge: Charge | None = None  # step 7, committed in step 8

    @property
    def request_id(self) -> str:
        return self.facts.request_id

    @property
    def principal(self) -> Principal:
        """The authenticated caller; only for endpoints that require a token (step 4 ran)."""
        assert isinstance(self.auth, Principal)
        return self.auth
