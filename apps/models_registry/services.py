from __future__ import annotations

from django.db.models import QuerySet

from apps.core.errors import NotFound, PermissionDenied
from apps.customers.principal import Principal

from .models import Model


def models_visible_to(*, principal: Principal) -> QuerySet[Model]:
    """Enabled models this token may use."""
    models = Model.objects.filter(enabled=True)
    if principal.allowed_models is not None:
        models = models.filter(id__in=principal.allowed_models)
    return models


def model_get(*, principal: Principal, model_id: str, param: str | None = None) -> Model:
    """An enabled model by id: 404 if unknown or disabled, 403 if this token may not use it."""
    model = Model.objects.filter(id=model_id, enabled=True).first()
    if model is None:
        raise NotFound(f"No model named '{model_id}'.", param=param)
    if not principal.may_use(model.id):
        raise PermissionDenied(f"This token may not use the model '{model_id}'.", param=param)
    return model
