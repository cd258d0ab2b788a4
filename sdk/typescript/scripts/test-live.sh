#!/usr/bin/env bash
# The TypeScript SDK's live tests against a throwaway server (../../scripts/with-sdk-server.sh has
# the server, its tokens and fake models). Expects the tests compiled to .test-build/
# (`npm run test:live` does that first). Env: PYTHON, KEEP_VAR_DIR (see that script).
set -euo pipefail

SDK_DIR=$(cd "$(dirname "$0")/.." && pwd)
TESTS=${SDK_TESTS:-$SDK_DIR/.test-build/test/live}
[[ -d $TESTS ]] || { echo "no compiled tests at $TESTS (run \`npm run build:test\`)" >&2; exit 1; }

# One file at a time: the rate-limit cases count requests per token and second.
exec bash "$SDK_DIR/../../scripts/with-sdk-server.sh" node --test --test-concurrency=1 "$TESTS"/
