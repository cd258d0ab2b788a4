#!/usr/bin/env bash
# The SDKs' checks, as `make test` runs them (`make sdk-test`):
#   1. npm ci           the exact devDependencies of sdk/typescript/package-lock.json
#   2. drift            openapi/schema.yaml is what the server code generates (`make schema`), and
#                       both SDKs' generated types are what that schema generates (`make sdk`):
#                       sdk/typescript/src/generated/schema.ts, sdk/python/src/…/_generated/*.py;
#                       skipping either step after a serializer change fails here
#   3. tsc              strict type check of the TypeScript SDK and its tests; build dist/ (ESM + CommonJS)
#   4. unit tests       TypeScript (the packed tarball's contents included), then Python (mocked transport)
#   5. live tests       against one throwaway server (scripts/with-sdk-server.sh): the TypeScript
#                       tests, programs that install the packed tarball (CommonJS `require`, ESM
#                       `import`, TypeScript compiled to CommonJS), the Python tests, and OpenAI's
#                       official Node client against /openai/v1 (tests/openai_api/node)
# `scripts/sdk-test.sh --drift-only` stops after step 2.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$PWD/.venv/bin/python}
TS=sdk/typescript
# The SDKs check the wire contract, not the stores: the same embedded default on every CI pass.
unset DATABASE_URL REDIS_URL

echo "== sdk: npm ci"
(cd "$TS" && npm ci --no-audit --no-fund --loglevel=error)
(cd tests/openai_api/node && npm ci --no-audit --no-fund --loglevel=error)

echo "== sdk: drift (server code -> openapi/schema.yaml -> generated types of both SDKs)"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# A scratch VAR_DIR: generating the schema must not touch the developer's database.
VAR_DIR=$scratch/var "$PY" manage.py spectacular --file "$scratch/schema.yaml" --validate --fail-on-warn
if ! diff -u openapi/schema.yaml "$scratch/schema.yaml"; then
  echo "openapi/schema.yaml is out of date with the server code: run \`make schema sdk\`." >&2
  exit 1
fi
(cd "$TS" && npm run --silent check:generated)
"$PY" sdk/python/scripts/generate.py --check
[[ ${1:-} == --drift-only ]] && exit 0

echo "== sdk: tsc"
(cd "$TS" && npm run --silent build && npm run --silent typecheck)  # build first: a unit test imports the package by its name (dist/)

echo "== sdk: unit tests (TypeScript)"
(cd "$TS" && npm run --silent test:unit)

echo "== sdk: unit tests (Python)"
(cd sdk/python && "$PY" -m pytest tests/unit -q)

echo "== sdk: live tests (TypeScript, the packed tarball's consumers, Python, OpenAI's Node client)"
(cd "$TS" && npm run --silent build:test)
# One file at a time: the rate-limit cases count requests per token and second.
PYTHON=$PY bash scripts/with-sdk-server.sh bash -c "
  set -euo pipefail
  node --test --test-concurrency=1 $TS/.test-build/test/live/
  bash $TS/scripts/test-consumers.sh
  node --test tests/openai_api/node/
  cd sdk/python && '$PY' -m pytest tests/live -q
"
