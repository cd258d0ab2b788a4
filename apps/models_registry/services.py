from __future__ import annotations

from apps.core.errors import NotFound, PermissionDenied
from apps.customers.principal import Principal

from .catalog import CatalogModel, catalog


async def models_visible_to(*, principal: Principal) -> list[CatalogModel]:
    """Enabled models this token may use, in id order."""
    return [model for model in (await catalog.aenabled()).values() if principal.may_use(model.id)]


async def model_get(*, principal: Principal, model_id: str, param: str | None = None) -> CatalogModel:
    """An enabled model by id: 404 if unknown or disabled, 403 if this token may not use it."""
    return model_check(await catalog.aenabled(), principal=principal, model_id=model_id, param=param)


def model_get_sync(*, principal: Principal, model_id: str, param: str | None = None) -> CatalogModel:
    """`model_get` for synchronous code (a batch's validation, in a worker thread)."""
    return model_check(catalog.enabled(), principal=principal, model_id=model_id, param=param)


def model_check(
    models: dict[str, CatalogModel], *, principal: Principal, model_id: str, param: str | None
) -> CatalogModel:
    model = models.get(model_id)
    if model is None:
        raise NotFound(f"No model named '{model_id}'.", param=param)
    if not principal.may_use(model.id):
        raise PermissionDenied(f"This token may not use the model '{model_id}'.", param=param)
    return model
