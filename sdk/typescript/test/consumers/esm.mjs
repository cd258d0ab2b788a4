// An ES module program importing the installed package (the README's quick start style).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Client, RateLimitError } from '@inference-platform/sdk';

const loaded = fileURLToPath(import.meta.resolve('@inference-platform/sdk'));
assert.ok(loaded.endsWith('/dist/esm/index.js'), `import loads the ESM build: ${loaded}`);

const client = new Client({ token: process.env.API_TOKEN, baseURL: process.env.BASE_URL });
const { data, meta } = await client.inference.complete({ model: 'fake-chat', prompt: 'esm' }).withResponse();
assert.equal(data.choices[0].text, 'esm esm esm esm esm');
assert.match(meta.requestId, /^req_/);
assert.equal(typeof RateLimitError, 'function');
console.log('ok - ES module import program against the live server');
