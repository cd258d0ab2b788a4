"""Prepare one scratch store, inside Django with the store's environment (run by `bench.stores`):
migrate, create `--tokens` customers `bench-N` with one unthrottled token each, and capture the
real pipeline's `GET /v1/models` body, which the floors then return byte for byte.

`python -m bench.seed --tokens 64 --out DIR` writes DIR/tokens.txt and DIR/models-body.json.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import django

# Far above any rate a 2-core machine reaches, so no benchmark request is ever limited.
UNLIMITED_RPS = 1_000_000


def create_tokens(count: int) -> list[str]:
    from apps.customers.services import customer_get_or_create, token_create

    return [
        token_create(
            customer=customer_get_or_create(name=f"bench-{n}"), name="bench", requests_per_second=UNLIMITED_RPS
        ).secret
        for n in range(count)
    ]


async def models_body(token: str) -> bytes:
    """One request through the real ASGI application, in process (no server needed yet)."""
    import httpx

    from inference_platform.asgi import application

    transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.get("/v1/models", headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 200:
        raise SystemExit(f"bench.seed: GET /v1/models answered {response.status_code}: {response.text[:300]}")
    return response.content


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    tokens = create_tokens(args.tokens)
    (args.out / "tokens.txt").write_text("\n".join(tokens) + "\n")
    (args.out / "models-body.json").write_bytes(asyncio.run(models_body(tokens[0])))


if __name__ == "__main__":
    main()
