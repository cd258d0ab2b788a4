// What `npm pack` would publish, and what each module system loads: the ESM and CommonJS builds
// (with their types) and nothing else (no src/, no source maps). Needs `npm run build` first.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

interface PackResult {
  files: Array<{ path: string; size: number }>;
  size: number;
  unpackedSize: number;
}

function pack(): PackResult {
  assert.ok(existsSync(join(root, 'dist/cjs/index.js')), 'dist/ is missing: run `npm run build` first');
  const run = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as PackResult[])[0]!;
}

test('the tarball holds both builds with their types, and no src/, tests or source maps', () => {
  const { files, size, unpackedSize } = pack();
  const paths = files.map((file) => file.path);

  for (const needed of [
    'package.json',
    'README.md',
    'dist/esm/index.js',
    'dist/esm/index.d.ts',
    'dist/cjs/index.js',
    'dist/cjs/index.d.ts',
    'dist/cjs/package.json',
  ]) {
    assert.ok(paths.includes(needed), `${needed} is packed`);
  }
  const unwanted = paths.filter((path) => !/^(dist\/(esm|cjs)\/|README\.md$|package\.json$)/.test(path) || /\.map$/.test(path));
  assert.deepEqual(unwanted, []);
  const javascript = files.filter((file) => file.path.endsWith('.js')).reduce((sum, file) => sum + file.size, 0);
  console.log(`tarball ${size} B, unpacked ${unpackedSize} B, of which JavaScript ${javascript} B (two builds)`);
});

test('package.json sends `import` to the ESM build and `require` to the CommonJS one, each with its types', () => {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, Record<string, Record<string, string>>>;
  };
  const main = manifest.exports['.']!;

  assert.deepEqual(main['import'], { types: './dist/esm/index.d.ts', default: './dist/esm/index.js' });
  assert.deepEqual(main['require'], { types: './dist/cjs/index.d.ts', default: './dist/cjs/index.js' });
  assert.deepEqual(JSON.parse(readFileSync(join(root, 'dist/cjs/package.json'), 'utf8')), { type: 'commonjs' });
});

test('require() of the package name loads the CommonJS build; import loads the ESM one', async () => {
  const require = createRequire(join(root, 'package.json'));

  const cjs = require('@inference-platform/sdk') as typeof import('../../src/index.js');
  const esm = await import('@inference-platform/sdk');

  assert.equal(require.resolve('@inference-platform/sdk'), join(root, 'dist/cjs/index.js'));
  assert.equal(typeof cjs.Client, 'function');
  assert.equal(typeof esm.Client, 'function');
  assert.notEqual(cjs.Client, esm.Client, 'two builds');
});
