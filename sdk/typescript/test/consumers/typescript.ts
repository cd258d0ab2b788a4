// A TypeScript program compiled to CommonJS (`module: commonjs`, see scripts/test-consumers.sh for
// the two configurations), so the package's CommonJS types must resolve and narrow, and the emitted
// `require` must run against the live server.
import assert = require('node:assert/strict');
import { Client, NotFoundError, type BatchResult, type Completion } from '@inference-platform/sdk';

/** Narrowing by `endpoint`: compiles only if the CommonJS types carry the per-endpoint union. */
function completionText(result: BatchResult): string | undefined {
  if (result.endpoint !== '/v1/completions') return undefined;
  const response: Completion | null = result.response;
  return response?.choices[0]?.text;
}

async function main(): Promise<void> {
  const client = new Client({ token: process.env['API_TOKEN'], baseURL: process.env['BASE_URL'] });

  const completion: Completion = await client.inference.complete({ model: 'fake-chat', prompt: 'typed words' });
  assert.equal(completion.choices[0]?.text, 'typed words typed words typed');

  const batch = await client.batches.create({
    requests: [
      { custom_id: 'c', endpoint: '/v1/completions', body: { model: 'fake-chat', prompt: 'ts', max_tokens: 2 } },
      { custom_id: 'e', endpoint: '/v1/embeddings', body: { model: 'all-minilm-l6-v2', input: 'A cat' } },
    ],
  });
  await client.batches.waitFor(batch.id, { timeoutMs: 60_000 });
  const texts: Array<string | undefined> = [];
  for await (const result of client.batches.results(batch.id)) texts.push(completionText(result));
  assert.deepEqual(texts, ['ts ts', undefined]);

  await assert.rejects(client.models.get('no-such-model'), NotFoundError);
  console.log(`ok - TypeScript (${process.argv[2] ?? 'commonjs'}) program against the live server`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
