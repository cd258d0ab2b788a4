#!/usr/bin/env bash
# The TypeScript SDK's checks, as `make test` runs them (`make sdk-test`):
#   1. npm ci           the exact devDependencies of sdk/typescript/package-lock.json
#   2. drift            openapi/schema.yaml is what the server code generates (`make schema`), and
#                       sdk/typescript/src/generated/schema.ts is what that schema generates (`make sdk`);
#                       skipping either step after a serializer change fails here
#   3. tsc              strict type check of the SDK and its tests; build dist/
#   4. tests            unit tests, then live tests against a throwaway server (scripts/test-live.sh)
# `scripts/sdk-test.sh --drift-only` stops after step 2.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$PWD/.venv/bin/python}
SDK=sdk/typescript
# The SDK checks the wire contract, not the stores: the same embedded default on every CI pass.
unset DATABASE_URL REDIS_URL

echo "== sdk: npm ci"
(cd "$SDK" && npm ci --no-audit --no-fund --loglevel=error)

echo "== sdk: drift (server code -> openapi/schema.yaml -> generated types)"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# A scratch VAR_DIR: generating the schema must not touch the developer's database.
VAR_DIR=$scratch/var "$PY" manage.py spectacular --file "$scratch/schema.yaml" --validate --fail-on-warn
if ! diff -u openapi/schema.yaml "$scratch/schema.yaml"; then
  echo "openapi/schema.yaml is out of date with the server code: run \`make schema sdk\`." >&2
  exit 1
fi
(cd "$SDK" && npm run --silent check:generated)
[[ ${1:-} == --drift-only ]] && exit 0

echo "== sdk: tsc"
(cd "$SDK" && npm run --silent typecheck && npm run --silent build)

echo "== sdk: unit tests"
(cd "$SDK" && npm run --silent test:unit)

echo "== sdk: live tests"
PYTHON=$PY bash "$SDK/scripts/test-live.sh"
