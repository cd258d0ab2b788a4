from __future__ import annotations

from datetime import datetime

from apps.customers.services import IssuedToken, customer_get_or_create, token_create


def make_token(
    *,
    customer: str = "acme",
    customer_rate: int | None = None,
    rate: int | None = None,
    expires_at: datetime | None = None,
    name: str = "test",
) -> IssuedToken:
    return token_create(
        customer=customer_get_or_create(name=customer, requests_per_second=customer_rate),
        name=name,
        requests_per_second=rate,
        expires_at=expires_at,
    )


def make_fake_model(model_id: str = "fake-chat", *, kind: str = "chat", **config: object) -> None:
    """A registry row served by the deterministic fake backend (pipeline tests only)."""
    from apps.models_registry.models import Model

    Model.objects.update_or_create(id=model_id, defaults={"kind": kind, "backend": "fake", "config": config})
