"""The rate-limit headers every `/v1/` response carries (docs/api-contract.md, "Rate limits"), and
the WebSocket form."""

from __future__ import annotations

from .limiter import RateLimitState

POLICY_NAME = "default"


def rate_limit_headers(state: RateLimitState) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(state.limit),
        "X-RateLimit-Remaining": str(state.remaining),
        "X-RateLimit-Reset": str(state.reset_seconds),
        # The IETF structured pair (draft-ietf-httpapi-ratelimit-headers).
        "RateLimit-Policy": f'"{POLICY_NAME}";q={state.limit};w=1',
        "RateLimit": f'"{POLICY_NAME}";r={state.remaining};t={state.reset_seconds}',
    }


def rate_limit_meta(state: RateLimitState) -> dict[str, int]:
    """WebSocket frames cannot carry headers: the same numbers go into `meta.rate_limit`."""
    return {"limit": state.limit, "remaining": state.remaining, "reset": state.reset_seconds}
