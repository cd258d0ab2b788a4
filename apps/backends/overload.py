"""The one way backends say "at capacity": 503 model_overloaded with a consistent Retry-After pair."""

from __future__ import annotations

from apps.core.errors import ModelOverloaded


def model_overloaded(retry_after_s: int) -> ModelOverloaded:
    # Both headers, always agreeing: the error's defaults would otherwise pair our seconds with 1000 ms.
    seconds = max(1, retry_after_s)
    return ModelOverloaded(headers={"Retry-After": str(seconds), "Retry-After-Ms": str(seconds * 1000)})
