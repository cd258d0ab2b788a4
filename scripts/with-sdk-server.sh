#!/usr/bin/env bash
# Runs a command against a throwaway server, for the SDKs' live tests (scripts/sdk-test.sh):
#   scratch VAR_DIR (its own SQLite) -> migrate -> tokens -> fake models -> uvicorn on a free port
#   -> wait for /v1/openapi.json -> the command -> stop the server by PID, always.
#
#   bash scripts/with-sdk-server.sh node --test …
#
# The command gets BASE_URL, API_TOKEN (customer `sdk-test`), API_TOKEN_RATE1 (1 request/s),
# API_TOKEN_REPLAY (customer `sdk-test-replay`: nothing else charges it), and VAR_DIR and
# SDK_SERVER_PYTHON, with which a test may read the server's own records (its request log).
# Env: PYTHON (default: the repo's .venv), KEEP_VAR_DIR=1 keeps the scratch folder for a post-mortem.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$REPO_DIR/.venv/bin/python}
[[ -x $PY ]] || { echo "no Python at $PY (run \`make install\` first)" >&2; exit 1; }
[[ $# -gt 0 ]] || { echo "usage: $0 COMMAND [ARGS…]" >&2; exit 2; }

# The SDKs test the wire contract, not the stores: always the embedded default (SQLite, local
# memory), even when CI exports DATABASE_URL/REDIS_URL for the server's own suite.
unset DATABASE_URL REDIS_URL DJANGO_SETTINGS_MODULE
export VAR_DIR SDK_SERVER_PYTHON=$PY
VAR_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sdk-live.XXXXXX")
SERVER_PID=

stop_server() {
  local status=$?
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ $status -ne 0 && -f $VAR_DIR/server.log ]]; then
    echo "== last lines of the server log ($VAR_DIR/server.log)" >&2
    tail -n 40 "$VAR_DIR/server.log" >&2
  fi
  [[ ${KEEP_VAR_DIR:-0} == 1 ]] || rm -rf "$VAR_DIR"
  exit "$status"
}
trap stop_server EXIT

cd "$REPO_DIR"
"$PY" manage.py migrate --noinput -v0

token() { "$PY" manage.py create_token "$@" | tail -n 1; }
API_TOKEN=$(token --customer sdk-test)
API_TOKEN_RATE1=$(token --customer sdk-test --rate 1 --name rate-one)
API_TOKEN_REPLAY=$(token --customer sdk-test-replay)
export API_TOKEN API_TOKEN_RATE1 API_TOKEN_REPLAY

# Deterministic fast models for the pipeline cases; the real local models are seeded by migrate.
"$PY" manage.py shell -v0 -c "
from apps.models_registry.models import Model
fakes = {
    'fake-chat': {'reply_tokens': 5},
    'fake-slow': {'reply_tokens': 5, 'token_delay_s': 0.3},
    'fake-fail': {'reply_tokens': 5, 'fail_after_tokens': 2},
    'fake-overloaded': {'fail_after_tokens': 0, 'fail_code': 'model_overloaded'},
}
for model_id, config in fakes.items():
    Model.objects.update_or_create(id=model_id, defaults={'kind': 'chat', 'backend': 'fake', 'config': config})
"

PORT=$("$PY" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
export BASE_URL=http://127.0.0.1:$PORT
"$PY" -m uvicorn inference_platform.asgi:application --host 127.0.0.1 --port "$PORT" --no-access-log \
  --http apps.core.uvicorn_protocol:HttpProtocol \
  >"$VAR_DIR/server.log" 2>&1 &
SERVER_PID=$!

# Any HTTP answer means the server is up (a 429 from the per-IP limit counts too).
for _ in $(seq 120); do
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "the server exited during start-up" >&2; exit 1; }
  if "$PY" -c "
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen('$BASE_URL/v1/openapi.json', timeout=2)
except urllib.error.HTTPError:
    pass
except OSError:
    sys.exit(1)
" 2>/dev/null; then break; fi
  sleep 0.25
done

"$@"
