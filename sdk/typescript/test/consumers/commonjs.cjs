// A CommonJS program, as a plain-JavaScript user writes one: `require` the installed package and
// call the live server. Run by scripts/test-consumers.sh against the packed tarball.
'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');
const { APIError, Client, NotFoundError, isTerminalBatch } = require('@inference-platform/sdk');

async function main() {
  const loaded = require.resolve('@inference-platform/sdk');
  assert.ok(loaded.endsWith(path.join('dist', 'cjs', 'index.js')), `require() loads the CommonJS build: ${loaded}`);

  assert.throws(() => new Client({ token: process.env.API_TOKEN, baseUrl: process.env.BASE_URL }), {
    name: 'TypeError',
    message: "Unknown option 'baseUrl'; did you mean 'baseURL'?",
  });
  const client = new Client({ token: process.env.API_TOKEN, baseURL: process.env.BASE_URL });

  const completion = await client.inference.complete({ model: 'fake-chat', prompt: 'hello world' });
  assert.equal(completion.choices[0].text, 'hello world hello world hello');

  const stream = await client.inference.chatStream({ model: 'fake-chat', messages: [{ role: 'user', content: 'a b' }] });
  let text = '';
  for await (const chunk of stream) text += chunk.delta;
  assert.equal(text, 'a b a b a');
  assert.equal((await stream.final()).usage.completion_tokens, 5);

  const ids = [];
  for await (const model of client.models.list({ limit: 2 })) ids.push(model.id);
  assert.ok(ids.includes('fake-chat'));

  await assert.rejects(client.models.get('no-such-model'), (error) => {
    return error instanceof NotFoundError && error instanceof APIError && error.code === 'not_found';
  });

  const batch = await client.batches.create({
    requests: [{ custom_id: 'e', endpoint: '/v1/completions', body: { model: 'fake-chat', prompt: 'cjs', max_tokens: 2 } }],
  });
  const done = await client.batches.waitFor(batch.id, { timeoutMs: 60000 });
  assert.ok(isTerminalBatch(done));
  const page = await client.batches.results(batch.id);
  assert.equal(page.items[0].endpoint, '/v1/completions');
  assert.equal(page.items[0].response.choices[0].text, 'cjs cjs');
  console.log('ok - CommonJS require() program against the live server');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
