from __future__ import annotations

from apps.core.errors import NotFound, PermissionDenied
from apps.customers.principal import Principal

from .catalog import CatalogModel, catalog


def models_visible_to(*, principal: Principal) -> list[CatalogModel]:
    """Enabled models this token may use, in id order."""
    return [model for model in catalog.enabled().values() if principal.may_use(model.id)]


def model_get(*, principal: Principal, model_id: str, param: str | None = None) -> CatalogModel:
    """An enabled model by id: 404 if unknown or disabled, 403 if this token may not use it."""
    model = catalog.enabled().get(model_id)
    if model is None:
        raise NotFound(f"No model named '{model_id}'.", param=param)
    if not principal.may_use(model.id):
        raise PermissionDenied(f"This token may not use the model '{model_id}'.", param=param)
    return model
