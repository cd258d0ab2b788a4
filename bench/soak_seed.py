"""Run inside Django with the soak store's environment (by bench/soak_stores.py): migrate, then
create one customer and token per traffic scenario, and the fake models. Prints one JSON line:
{"tokens": {scenario: secret}, "limits": {scenario: requests per second}}."""

from __future__ import annotations

import json

import django

# Per scenario: its token's limit. Only `burst` (twice its limit at the start of a second) and
# `sustained` (far above its limit, all the time) are meant to hit theirs; the others stay far below.
LIMITS = {
    "sustained": 10,
    "reader": 1000,
    "inference": 1000,
    "stream": 1000,
    "retry": 1000,
    "burst": 20,
    "real": 1000,
    "batch": 1000,
}
FAKE_MODELS = [
    ("fake-chat", "chat", {"reply_tokens": 8}),
    ("fake-stream", "chat", {"reply_tokens": 20, "token_delay_s": 0.005}),
    ("fake-embed", "embedding", {"dimensions": 32}),
]


def main() -> None:
    django.setup()
    from django.core.management import call_command

    from apps.customers.services import customer_get_or_create, token_create
    from apps.models_registry.models import Model

    call_command("migrate", verbosity=0, interactive=False)
    for model_id, kind, config in FAKE_MODELS:
        Model.objects.update_or_create(id=model_id, defaults={"kind": kind, "backend": "fake", "config": config})
    # One engine slot and a short context: the real model is a few requests here, not the load.
    Model.objects.filter(id="smollm2-135m-instruct").update(config={"slots": 1, "context_tokens": 512})
    tokens = {
        name: token_create(
            customer=customer_get_or_create(name=f"soak-{name}"), name="soak", requests_per_second=limit
        ).secret
        for name, limit in LIMITS.items()
    }
    print(json.dumps({"tokens": tokens, "limits": LIMITS}))


if __name__ == "__main__":
    main()
