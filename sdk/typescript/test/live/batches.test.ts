// Batches against the live server: its embedded worker runs them on the deterministic fake models.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BadRequestError,
  NotFoundError,
  type Batch,
  type BatchCreateParams,
  type BatchResult,
  type ChatCompletion,
  type Completion,
} from '../../src/index.js';
import { MODELS, client, rejection } from './setup.js';

const api = client();
const WAIT = { timeoutMs: 60_000 };

/** Three requests whose answers the fake model makes predictable: it echoes the prompt's words. */
function smallBatch(tag: string): BatchCreateParams {
  return {
    requests: [
      {
        custom_id: `${tag}-z`,
        endpoint: '/v1/completions',
        body: { model: MODELS.fake, prompt: 'alpha beta', max_tokens: 3 },
      },
      {
        custom_id: `${tag}-a`,
        endpoint: '/v1/chat/completions',
        body: { model: MODELS.fake, messages: [{ role: 'user', content: 'one two' }] },
      },
      { custom_id: `${tag}-m`, endpoint: '/v1/completions', body: { model: MODELS.fake, prompt: 'gamma' } },
    ],
    metadata: { suite: 'sdk-live', tag },
  };
}

/** Requests of the slow fake model: 5 tokens of 0.3 s, so the batch runs for about 1.5 s. */
function slowBatch(size: number): BatchCreateParams {
  return {
    requests: Array.from({ length: size }, (_, i) => ({
      custom_id: `slow-${i}`,
      endpoint: '/v1/completions' as const,
      body: { model: MODELS.slow, prompt: `slow ${i}` },
    })),
  };
}

async function allResults(batchId: string, limit?: number): Promise<BatchResult[]> {
  const results: BatchResult[] = [];
  for await (const result of api.batches.results(batchId, { limit })) results.push(result);
  return results;
}

describe('batches', () => {
  test('create, waitFor, then every result in request order with its custom_id and response', async () => {
    const tag = `order-${crypto.randomUUID().slice(0, 8)}`;
    const { data: created, meta } = await api.batches.create(smallBatch(tag)).withResponse();

    assert.match(created.id, /^batch_/);
    assert.equal(meta.status, 201);
    assert.ok(['queued', 'running', 'completed'].includes(created.status));
    assert.equal(created.counts.total, 3);
    assert.deepEqual(created.metadata, { suite: 'sdk-live', tag });

    const done = await api.batches.waitFor(created.id, WAIT);

    assert.equal(done.id, created.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.counts, { total: 3, completed: 3, failed: 0, cancelled: 0 });
    assert.ok(done.started_at && done.finished_at);

    const page = await api.batches.results(created.id, { limit: 2 });
    assert.equal(page.items.length, 2);
    assert.equal(typeof page.next_cursor, 'string');

    const results = await allResults(created.id, 2); // three items over two pages
    assert.deepEqual(
      results.map((result) => [result.custom_id, result.status, result.error]),
      [
        [`${tag}-z`, 'completed', null],
        [`${tag}-a`, 'completed', null],
        [`${tag}-m`, 'completed', null],
      ],
    );
    // Each result names its endpoint, which narrows `response` to that endpoint's type: no casts.
    const [first, second, third] = results;
    assert.equal(first?.endpoint, '/v1/completions');
    const completion: Completion | null | undefined = first?.endpoint === '/v1/completions' ? first.response : undefined;
    assert.match(completion?.id ?? '', /^cmpl_/);
    assert.equal(completion?.choices[0]?.text, 'alpha beta alpha');
    assert.equal(completion?.choices[0]?.finish_reason, 'length');
    assert.deepEqual(completion?.usage, { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    assert.deepEqual(first?.usage, completion?.usage);
    assert.equal(second?.endpoint, '/v1/chat/completions');
    const chat: ChatCompletion | null | undefined = second?.endpoint === '/v1/chat/completions' ? second.response : undefined;
    assert.match(chat?.id ?? '', /^chatcmpl_/);
    assert.equal(chat?.choices[0]?.message.content, 'one two one two one');
    assert.ok(third?.endpoint === '/v1/completions');
    assert.equal(third.response?.choices[0]?.text, 'gamma gamma gamma gamma gamma');
  });

  test('events: progress batches while it runs, then the terminal batch', async () => {
    const created = await api.batches.create(slowBatch(2));
    const stream = await api.batches.events(created.id);

    const progress: Batch[] = [];
    for await (const batch of stream) progress.push(batch);
    const done = await stream.final();

    assert.ok(progress.length >= 1, 'the first state is reported at once');
    for (const batch of progress) {
      assert.equal(batch.id, created.id);
      assert.ok(['queued', 'running'].includes(batch.status));
    }
    assert.equal(done.status, 'completed');
    assert.equal(done.counts.completed, 2);
    assert.match(stream.meta.requestId ?? '', /^req_/);

    // A finished batch: no progress, just the end.
    const again = await api.batches.events(created.id);
    const late: Batch[] = [];
    for await (const batch of again) late.push(batch);
    assert.deepEqual(late, []);
    assert.deepEqual(await again.final(), done);
  });

  test('create with the same Idempotency-Key and body replays the same batch', async () => {
    const idempotencyKey = `sdk-test-${crypto.randomUUID()}`;
    const params = smallBatch('replay');

    const first = await api.batches.create(params, { idempotencyKey }).withResponse();
    const second = await api.batches.create(params, { idempotencyKey }).withResponse();
    const other = await api.batches.create(params);

    assert.equal(second.data.id, first.data.id);
    assert.equal(first.meta.replayed, false);
    assert.equal(second.meta.replayed, true);
    assert.equal(second.meta.requestId, first.meta.requestId);
    assert.notEqual(other.id, first.data.id, 'a new key is a new batch');
    await Promise.all([first.data.id, other.id].map((id) => api.batches.waitFor(id, WAIT)));
  });

  test('cancel: a finished batch is answered unchanged', async () => {
    const created = await api.batches.create(smallBatch('finished'));
    const done = await api.batches.waitFor(created.id, WAIT);

    const cancelled = await api.batches.cancel(created.id);

    assert.deepEqual(cancelled, done);
    assert.equal(cancelled.status, 'completed');
    assert.equal(cancelled.cancel_requested_at, null);
  });

  test('cancel: a running batch ends cancelled; running items finish, pending ones never run', async () => {
    const created = await api.batches.create(slowBatch(3));
    for await (const batch of await api.batches.events(created.id)) if (batch.status === 'running') break;

    const cancelling = await api.batches.cancel(created.id);

    assert.ok(['cancelling', 'cancelled'].includes(cancelling.status), cancelling.status);
    assert.ok(cancelling.cancel_requested_at);
    const done = await api.batches.waitFor(created.id, WAIT);
    assert.equal(done.status, 'cancelled');
    assert.equal(done.counts.completed + done.counts.cancelled, 3);
    assert.equal(done.counts.cancelled, cancelling.counts.cancelled, 'items pending at the cancel are cancelled');
    for (const result of await allResults(created.id)) {
      assert.ok(['completed', 'cancelled'].includes(result.status));
      if (result.status === 'completed') assert.equal(result.usage?.completion_tokens, 5, 'ran to its end');
      else assert.equal(result.response, null);
    }
  });

  test('list: newest first, and iterable across pages', async () => {
    const created = await api.batches.create(smallBatch('list'));

    const page = await api.batches.list({ limit: 1 });
    const ids: string[] = [];
    for await (const batch of api.batches.list({ limit: 2 })) ids.push(batch.id);

    assert.equal(page.items[0]?.id, created.id);
    assert.equal(ids[0], created.id);
    assert.ok(ids.length >= 5, 'the batches of the tests above');
    assert.equal(new Set(ids).size, ids.length, 'no batch twice');
    await api.batches.waitFor(created.id, WAIT);
  });
});

describe('batch errors', () => {
  test('an unknown model: 400 invalid_request naming the item, and no batch created', async () => {
    const before = await api.batches.list({ limit: 1 });
    const params = smallBatch('bad-model');
    params.requests[1] = { custom_id: 'x', endpoint: '/v1/completions', body: { model: 'no-such-model', prompt: '?' } };

    const error = await rejection(api.batches.create(params));

    assert.ok(error instanceof BadRequestError);
    assert.equal(error.status, 400);
    assert.equal(error.code, 'invalid_request');
    assert.equal(error.param, 'requests[1].body.model');
    assert.deepEqual(error.details?.map((detail) => detail.param), ['requests[1].body.model']);
    const after = await api.batches.list({ limit: 1 });
    assert.equal(after.items[0]?.id, before.items[0]?.id);
  });

  test('an endpoint batches do not take: 400 invalid_request naming its endpoint', async () => {
    const params = smallBatch('bad-endpoint');
    const bad = { custom_id: 'x', endpoint: '/v1/models', body: { model: MODELS.fake } };
    params.requests[2] = bad as unknown as BatchCreateParams['requests'][number];

    const error = await rejection(api.batches.create(params));

    assert.ok(error instanceof BadRequestError);
    assert.equal(error.code, 'invalid_request');
    assert.equal(error.param, 'requests[2].endpoint');
  });

  test('an unknown batch id: NotFoundError on every path', async () => {
    const id = 'batch_doesnotexist';
    const calls: Array<[string, () => PromiseLike<unknown>]> = [
      ['get', () => api.batches.get(id)],
      ['cancel', () => api.batches.cancel(id)],
      ['results', () => api.batches.results(id)],
      ['events', () => api.batches.events(id)],
      ['waitFor', () => api.batches.waitFor(id, WAIT)],
    ];

    for (const [name, call] of calls) {
      const error = await rejection(call());
      assert.ok(error instanceof NotFoundError, name);
      assert.equal(error.code, 'not_found', name);
      assert.match(error.requestId ?? '', /^req_/, name);
    }
  });
});
