#!/usr/bin/env bash
# The server `make run` starts, on HOST:PORT (default 127.0.0.1:8000). Extra arguments go to uvicorn.
# A HOST other than loopback also needs ALLOWED_HOSTS (docs/deploy.md).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/uvicorn inference_platform.asgi:application \
  --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" --no-access-log \
  --http apps.core.uvicorn_protocol:HttpProtocol "$@"  # bounds the time to receive headers (docs/deploy.md)
