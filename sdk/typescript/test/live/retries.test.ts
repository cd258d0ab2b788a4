// Safe retries: one Idempotency-Key per call, reused by its retries, so a retry of work that did
// execute is replayed and charged once; a stream is never retried once its response has begun.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { APIConnectionError, Client, InternalServerError } from '../../src/index.js';
import { BASE_URL, MODELS, TOKENS, client, connectionReset, recordingFetch, rejection, sleep } from './setup.js';

async function fakeUsage(api: Client): Promise<{ requests: number; total_tokens: number }> {
  const report = await api.usage.get();
  const item = report.items.find((row) => row.model === MODELS.fake);
  return { requests: item?.requests ?? 0, total_tokens: item?.total_tokens ?? 0 };
}

async function readAll(stream: AsyncIterable<{ delta: string }>, into: string[]): Promise<void> {
  for await (const chunk of stream) into.push(chunk.delta);
}

describe('retries', () => {
  test('a response lost after the server executed is replayed on retry, and charged once', async () => {
    // Given a connection that fails after the server answered the first attempt
    let firstBody: { data: { id: string } } | undefined;
    const { fetch, calls } = recordingFetch(async (_call, url, init) => {
      if (init?.method !== 'POST' || firstBody) return undefined;
      const response = await globalThis.fetch(url, init);
      firstBody = (await response.json()) as typeof firstBody; // executed and committed by now
      throw connectionReset();
    });
    const api = new Client({ token: TOKENS.replay, baseURL: BASE_URL, fetch });
    const before = await fakeUsage(api);

    // When the SDK retries
    const params = { model: MODELS.fake, prompt: 'charge me once' };
    const { data, meta } = await api.inference.complete(params).withResponse();

    // Then the second attempt is a replay with the same key, and usage counts one request
    const posts = calls.filter((c) => c.method === 'POST');
    assert.equal(posts.length, 2);
    const key = posts[0]?.headers.get('idempotency-key');
    assert.ok(key);
    assert.equal(posts[1]?.headers.get('idempotency-key'), key);
    assert.equal(meta.idempotencyKey, key);
    assert.equal(meta.attempts, 2);
    assert.equal(meta.replayed, true);
    assert.equal(data.id, firstBody?.data.id);
    const after = await fakeUsage(api);
    assert.equal(after.requests - before.requests, 1);
    assert.equal(after.total_tokens - before.total_tokens, data.usage.total_tokens);
  });

  test("the caller's Idempotency-Key is sent, and repeating the call replays it", async () => {
    const idempotencyKey = `sdk-test-${crypto.randomUUID()}`;
    const { fetch, calls } = recordingFetch();
    const api = client({ fetch });
    const params = { model: MODELS.fake, prompt: 'my own key' };

    const first = await api.inference.complete(params, { idempotencyKey }).withResponse();
    const second = await api.inference.complete(params, { idempotencyKey }).withResponse();

    assert.equal(calls[0]?.headers.get('idempotency-key'), idempotencyKey);
    assert.equal(first.meta.replayed, false);
    assert.equal(second.meta.replayed, true);
    assert.deepEqual(second.data, first.data);
    assert.equal(second.meta.requestId, first.meta.requestId, 'a replay names the request that executed');
  });

  test('409 in progress is retried until the first request finishes, then replayed', async () => {
    const idempotencyKey = `sdk-test-${crypto.randomUUID()}`;
    const api = client();
    const params = { model: MODELS.slow, prompt: 'wait for me' };
    const first = api.inference.complete(params, { idempotencyKey });
    await sleep(500); // the first request holds the key by now

    const second = await api.inference.complete(params, { idempotencyKey, maxRetries: 4 }).withResponse();

    assert.ok(second.meta.attempts >= 2);
    assert.equal(second.meta.replayed, true);
    assert.equal(second.data.id, (await first).id);
  });

  test('a 5xx is retried maxRetries times with one key, then thrown', async () => {
    const { fetch, calls } = recordingFetch();
    const api = client({ fetch, maxRetries: 2 });

    const error = await rejection(api.inference.complete({ model: MODELS.overloaded, prompt: 'busy' }));

    assert.ok(error instanceof InternalServerError);
    assert.equal(error.status, 503);
    assert.equal(error.code, 'model_overloaded');
    assert.equal(calls.length, 3);
    assert.equal(new Set(calls.map((c) => c.headers.get('idempotency-key'))).size, 1);
  });

  test('GET requests are retried too, and carry no Idempotency-Key', async () => {
    const { fetch, calls } = recordingFetch(async (call) => {
      if (call === 0) throw connectionReset();
      return undefined;
    });
    const api = client({ fetch });

    const { meta } = await api.models.list().withResponse();

    assert.equal(meta.attempts, 2);
    assert.equal(calls[0]?.headers.get('idempotency-key'), null);
  });
});

describe('stream retries', () => {
  test('a stream whose connection failed before any response is retried with the same key', async () => {
    const { fetch, calls } = recordingFetch(async (call) => {
      if (call === 0) throw connectionReset();
      return undefined;
    });
    const api = client({ fetch });

    const stream = await api.inference.completeStream({ model: MODELS.fake, prompt: 'retry me' });
    const done = await stream.final();

    assert.equal(calls.length, 2);
    assert.equal(calls[1]?.headers.get('idempotency-key'), calls[0]?.headers.get('idempotency-key'));
    assert.equal(stream.meta.attempts, 2);
    assert.equal(done.usage.completion_tokens, 5);
  });

  test('a stream that breaks after its first bytes is never retried', async () => {
    // Given a connection that dies right after the first read of the body
    const { fetch, calls } = recordingFetch(async (_call, url, init) => {
      const response = await globalThis.fetch(url, init);
      return new Response(firstReadThenReset(response.body!), { status: response.status, headers: response.headers });
    });
    const api = client({ fetch });
    const stream = await api.inference.completeStream({ model: MODELS.slow, prompt: 'one two three' });
    const deltas: string[] = [];

    // When the caller reads it
    const error = await rejection(readAll(stream, deltas));

    // Then the caller keeps what arrived and gets a connection error; no second request was made
    assert.ok(error instanceof APIConnectionError);
    assert.deepEqual(deltas, ['one']);
    assert.equal(calls.length, 1);
  });

  test('a stream answered with an HTTP error is not retried either', async () => {
    const { fetch, calls } = recordingFetch();
    const api = client({ fetch });

    const error = await rejection(api.inference.completeStream({ model: MODELS.overloaded, prompt: 'busy' }));

    assert.ok(error instanceof InternalServerError);
    assert.equal(calls.length, 1);
  });

  test('breaking out of a stream early closes it; final() then rejects', async () => {
    const api = client();
    const stream = await api.inference.completeStream({ model: MODELS.slow, prompt: 'stop me now' });

    for await (const chunk of stream) {
      assert.equal(chunk.delta, 'stop');
      break;
    }

    await assert.rejects(stream.final(), { name: 'APIUserAbortError' });
  });
});

/** The first read of `body`, then a reset connection (what undici reports as `terminated`). */
function firstReadThenReset(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let reads = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (reads++ === 0) {
        const { value, done } = await reader.read();
        if (value) controller.enqueue(value);
        if (done) controller.close();
        return;
      }
      await reader.cancel();
      controller.error(new TypeError('terminated'));
    },
  });
}
