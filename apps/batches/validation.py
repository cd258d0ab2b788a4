"""Every item of a new batch is validated up front, with the serializer its endpoint uses and the
model checks its endpoint makes (exists, enabled, allowed for this token, right kind). One bad item
rejects the whole batch with 400 `invalid_request`; `details` names every bad item's field
(`requests[3].body.max_tokens`), so a client can fix them all in one round."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

from apps.core.errors import ApiError
from apps.customers.principal import Principal
from apps.inference.endpoints import ENDPOINTS_BY_PATH
from apps.inference.services import wrong_kind
from apps.models_registry.services import model_get_sync

Errors = dict[str, Any]  # DRF's nested error shape, flattened by apps.core.exception_handler


@dataclass(frozen=True, slots=True)
class ValidItem:
    index: int
    custom_id: str
    endpoint: str
    body: dict[str, Any]  # the endpoint serializer's validated data: what the service is called with


def batch_requests_validate(*, principal: Principal, requests: list[dict[str, Any]]) -> list[ValidItem]:
    """The items, validated; raises a ValidationError naming each bad item otherwise."""
    errors: dict[int, Errors] = {}
    items: list[ValidItem] = []
    models = _ModelCheck(principal)
    first_use: dict[str, int] = {}
    for index, request in enumerate(requests):
        problems = _duplicate(request["custom_id"], index, first_use)
        body, body_errors = _body(request["endpoint"], request["body"], models)
        problems.update({"body": body_errors} if body_errors else {})
        if problems:
            errors[index] = problems
        elif body is not None:
            items.append(ValidItem(index, request["custom_id"], request["endpoint"], body))
    if errors:
        raise serializers.ValidationError({"requests": errors})  # type: ignore[dict-item]  # DRF keeps int keys
    return items


def _duplicate(custom_id: str, index: int, first_use: dict[str, int]) -> Errors:
    first = first_use.setdefault(custom_id, index)
    if first == index:
        return {}
    return {"custom_id": [f"Duplicate custom_id; requests[{first}] uses it too."]}


def _body(endpoint: str, body: dict[str, Any], models: _ModelCheck) -> tuple[dict[str, Any] | None, Errors]:
    serializer = ENDPOINTS_BY_PATH[endpoint].request_serializer(data=body)
    if not serializer.is_valid():
        return None, dict(serializer.errors)
    validated = dict(serializer.validated_data)
    if validated.pop("stream", False):
        return None, {"stream": ["Batch items cannot stream; leave `stream` out."]}
    problem = models.problem(validated["model"], ENDPOINTS_BY_PATH[endpoint].model_kind)
    return (None, {"model": [problem]}) if problem else (validated, {})


class _ModelCheck:
    """The endpoint's own model checks, answered once per model id (a batch often names one)."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self._kinds: dict[str, str | ApiError] = {}

    def problem(self, model_id: str, kind: str) -> str | None:
        if model_id not in self._kinds:
            try:
                self._kinds[model_id] = model_get_sync(principal=self.principal, model_id=model_id).kind
            except ApiError as error:  # 404 unknown, 403 not allowed: both a bad item here
                self._kinds[model_id] = error
        found = self._kinds[model_id]
        if isinstance(found, ApiError):
            return found.message
        if found != kind:
            return wrong_kind(model_id, found, kind)
        return None
