#!/usr/bin/env node
// Builds the package's two module formats from one source:
//   dist/esm/  ES modules (`import`), with .d.ts
//   dist/cjs/  CommonJS (`require`), with .d.ts, and a package.json that says so: the package itself
//              is "type": "module", so without it Node would load these .js files as ES modules.
// package.json's `exports` sends `import` to the first and `require` to the second. No source maps
// and no src/: the tarball ships only what runs (and its types).
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

rmSync(join(root, 'dist'), { recursive: true, force: true });
for (const project of ['tsconfig.build.json', 'tsconfig.cjs.json']) {
  const run = spawnSync(process.execPath, [tsc, '-p', join(root, project)], { stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
writeFileSync(join(root, 'dist/cjs/package.json'), JSON.stringify({ type: 'commonjs' }, null, 2) + '\n');
console.log('built dist/esm (import) and dist/cjs (require)');
