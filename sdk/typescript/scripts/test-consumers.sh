#!/usr/bin/env bash
# Installs the packed tarball into a scratch project, as a user would, and runs a program of each
# kind against the live server: CommonJS `require`, an ES module `import`, and one TypeScript
# program compiled twice, with `module: commonjs` (types from package.json's `types`) and with
# `module: node16` (types from the `require` condition of `exports`).
# Expects dist/ built (`npm run build`), and BASE_URL and API_TOKEN of a running server: run it
# through ../../scripts/with-sdk-server.sh (scripts/sdk-test.sh does).
set -euo pipefail

SDK_DIR=$(cd "$(dirname "$0")/.." && pwd)
: "${BASE_URL:?run through scripts/with-sdk-server.sh}" "${API_TOKEN:?run through scripts/with-sdk-server.sh}"
[[ -f $SDK_DIR/dist/cjs/index.js ]] || { echo "no dist/ (run \`npm run build\`)" >&2; exit 1; }

APP=$(mktemp -d "${TMPDIR:-/tmp}/sdk-consumer.XXXXXX")
trap 'rm -rf "$APP"' EXIT

tarball=$(cd "$SDK_DIR" && npm pack --ignore-scripts --silent --pack-destination "$APP")
cd "$APP"
echo '{ "name": "sdk-consumer", "private": true }' >package.json
# The package has no dependencies: nothing is fetched.
npm install --offline --no-audit --no-fund --loglevel=error "./$tarball"
ln -s "$SDK_DIR/node_modules/@types" node_modules/@types  # @types/node for the TypeScript program
cp "$SDK_DIR"/test/consumers/* .

node commonjs.cjs
node esm.mjs

compile() {  # module, moduleResolution, outDir
  cat >"tsconfig.$1.json" <<JSON
{
  "compilerOptions": {
    "module": "$1", "moduleResolution": "$2", "target": "ES2022", "lib": ["ES2022"],
    "strict": true, "skipLibCheck": false, "types": ["node"], "outDir": "$3"
  },
  "files": ["typescript.ts"]
}
JSON
  node "$SDK_DIR/node_modules/typescript/bin/tsc" -p "tsconfig.$1.json"
  grep -q 'require("@inference-platform/sdk")' "$3/typescript.js"  # compiled to CommonJS, really
}
compile commonjs node10 out-commonjs
node out-commonjs/typescript.js "module: commonjs"
compile node16 node16 out-node16
node out-node16/typescript.js "module: node16"
