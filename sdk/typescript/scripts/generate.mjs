#!/usr/bin/env node
// Generates src/generated/schema.ts from the server's committed OpenAPI schema.
//
//   node scripts/generate.mjs           write the file (`npm run generate`)
//   node scripts/generate.mjs --check   regenerate into a temp file and diff it against the committed
//                                       one; exit 1 on any difference (`npm run check:generated`)
//
// OPENAPI_SCHEMA overrides the schema path (to try a schema change without touching the repo's copy).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const schemaPath = resolve(process.env.OPENAPI_SCHEMA ?? join(root, '../../openapi/schema.yaml'));
const target = join(root, 'src/generated/schema.ts');
const generatorPackage = join(root, 'node_modules/openapi-typescript/package.json');
const generatorVersion = JSON.parse(readFileSync(generatorPackage, 'utf8')).version;

const HEADER = `/**
 * GENERATED FILE: do not edit by hand.
 *
 * Source:    openapi/schema.yaml (the server's committed OpenAPI schema)
 * Generator: openapi-typescript ${generatorVersion} via sdk/typescript/scripts/generate.mjs
 * Update:    change the server's serializers, then \`make schema sdk\` (or \`npm run generate\`).
 *            \`npm run check:generated\` fails while this file and the schema disagree.
 */
`;

async function render() {
  const ast = await openapiTS(readFileSync(schemaPath, 'utf8'), {
    // The default (true) makes every field that has a default REQUIRED, including request fields
    // such as `max_tokens` and `stream` that callers are meant to leave out.
    defaultNonNullable: false,
  });
  return HEADER + '\n' + astToString(ast);
}

function check(text) {
  const scratch = mkdtempSync(join(tmpdir(), 'sdk-schema-'));
  const fresh = join(scratch, 'schema.ts');
  try {
    writeFileSync(fresh, text);
    const diff = spawnSync('diff', ['-u', target, fresh], { encoding: 'utf8' });
    if (diff.status === 0) {
      console.log(`${relative(root, target)} matches ${schemaPath}`);
      return 0;
    }
    process.stdout.write(diff.stdout || diff.stderr || 'generated types differ\n');
    const name = relative(root, target);
    console.error(`\n${name} is out of date with ${schemaPath}: run \`make sdk\` (npm run generate).`);
    return 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const text = await render();
if (process.argv.includes('--check')) {
  process.exitCode = check(text);
} else {
  writeFileSync(target, text);
  console.log(`wrote ${relative(root, target)} from ${schemaPath}`);
}
