// client.batches against a scripted fetch: what goes on the wire, how pages, progress streams and
// waitFor's fallbacks behave. The live tests cover the real server.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  APIUserAbortError,
  BatchWaitTimeoutError,
  Client,
  NotFoundError,
  type Batch,
  type BatchStatus,
} from '../../src/index.js';

const META = { request_id: 'req_abcdefghijklmnopqrstuvwx', timestamp: '2026-03-15T10:00:00Z' };

function batch(status: BatchStatus, completed = 0, total = 2): Batch {
  return {
    id: 'batch_1',
    status,
    counts: { total, completed, failed: 0, cancelled: 0 },
    metadata: {},
    error: null,
    created_at: '2026-03-15T10:00:00Z',
    started_at: null,
    finished_at: null,
    cancel_requested_at: null,
  };
}

function json(data: unknown, status = 200): Response {
  return new Response(JSON.stringify({ data, error: null, meta: META }), {
    status,
    headers: { 'content-type': 'application/json', 'x-request-id': META.request_id },
  });
}

function notFound(): Response {
  const error = { code: 'not_found', message: "No batch 'nope'.", param: null, details: null };
  return new Response(JSON.stringify({ data: null, error, meta: META }), { status: 404 });
}

function unavailable(): Response {
  const error = { code: 'service_unavailable', message: 'Busy.', param: null, details: null };
  return new Response(JSON.stringify({ data: null, error, meta: META }), {
    status: 503,
    headers: { 'retry-after-ms': '1' },
  });
}

/** An SSE body: each piece is sent as one read. */
function sse(...pieces: string[]): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of pieces) controller.enqueue(encoder.encode(piece));
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

function event(name: string, data: Batch): string {
  return `event: ${name}\ndata: ${JSON.stringify({ data, error: null, meta: META })}\n\n`;
}

/** A stream that never sends anything until its request is aborted. */
function silent(signal: AbortSignal | null | undefined): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      signal?.addEventListener('abort', () => controller.error(signal.reason), { once: true });
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

interface Call {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
}

function scripted(answer: (call: Call, init: RequestInit | undefined) => Response | Promise<Response>): {
  client: Client;
  calls: Call[];
} {
  const calls: Call[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const text = typeof init?.body === 'string' ? init.body : undefined;
    const call = {
      method: init?.method ?? 'GET',
      url: new URL(String(input)),
      headers: new Headers(init?.headers),
      body: text === undefined ? undefined : (JSON.parse(text) as unknown),
    };
    calls.push(call);
    return answer(call, init);
  };
  const client = new Client({ token: 'ipk_test', baseURL: 'http://sdk.test', fetch: fetch as typeof globalThis.fetch });
  return { client, calls };
}

describe('requests', () => {
  test('create: POSTs the body with an Idempotency-Key and unwraps the 201', async () => {
    const { client, calls } = scripted(() => json(batch('queued'), 201));
    const params = {
      requests: [
        { custom_id: 'a', endpoint: '/v1/completions' as const, body: { model: 'fake-chat', prompt: 'hi' } },
      ],
      metadata: { job: 'unit' },
    };

    const created = await client.batches.create(params, { idempotencyKey: 'key-1' });

    assert.equal(created.id, 'batch_1');
    assert.equal(calls[0]?.method, 'POST');
    assert.equal(calls[0]?.url.pathname, '/v1/batches');
    assert.equal(calls[0]?.headers.get('idempotency-key'), 'key-1');
    assert.deepEqual(calls[0]?.body, params);
  });

  test('get, cancel: the id is escaped into the path; cancel is a POST without a body', async () => {
    const { client, calls } = scripted(() => json(batch('completed')));

    await client.batches.get('batch_1/../x');
    await client.batches.cancel('batch_1');

    assert.equal(calls[0]?.url.pathname, '/v1/batches/batch_1%2F..%2Fx');
    assert.equal(calls[1]?.method, 'POST');
    assert.equal(calls[1]?.url.pathname, '/v1/batches/batch_1/cancel');
    assert.equal(calls[1]?.body, undefined);
    assert.equal(calls[1]?.headers.get('content-type'), null);
    assert.ok(calls[1]?.headers.get('idempotency-key'));
  });

  test('results: awaited, one page; iterated, every result in order across cursors', async () => {
    const result = (id: string) => ({ custom_id: id, status: 'completed', response: null, error: null, usage: null });
    const { client, calls } = scripted((call) => {
      const cursor = call.url.searchParams.get('cursor');
      if (cursor === null) return json({ items: [result('c'), result('a')], next_cursor: 'p2' });
      if (cursor === 'p2') return json({ items: [result('b')], next_cursor: 'p3' });
      return json({ items: [result('d')], next_cursor: null });
    });

    const page = await client.batches.results('batch_1', { limit: 2 });
    const ids: string[] = [];
    for await (const item of client.batches.results('batch_1', { limit: 2 })) ids.push(item.custom_id);

    assert.deepEqual(page.items.map((item) => item.custom_id), ['c', 'a']);
    assert.deepEqual(ids, ['c', 'a', 'b', 'd']);
    assert.equal(calls[0]?.url.pathname, '/v1/batches/batch_1/results');
    assert.equal(calls.at(-1)?.url.search, '?limit=2&cursor=p3');
  });

  test('list: starts from the given cursor', async () => {
    const { client, calls } = scripted(() => json({ items: [batch('queued')], next_cursor: null }));

    const page = await client.batches.list({ cursor: 'c1', limit: 5 });

    assert.equal(page.items[0]?.id, 'batch_1');
    assert.equal(calls[0]?.url.search, '?limit=5&cursor=c1');
  });
});

describe('events', () => {
  test('a GET stream: progress batches as items, the done batch as final(); pings skipped', async () => {
    const { client, calls } = scripted(() =>
      sse(
        event('progress', batch('queued')),
        ': ping\n\n',
        event('progress', batch('running', 1)),
        event('done', batch('completed', 2)),
      ),
    );

    const stream = await client.batches.events('batch_1');
    const seen: string[] = [];
    for await (const progress of stream) seen.push(`${progress.status}:${progress.counts.completed}`);

    assert.deepEqual(seen, ['queued:0', 'running:1']);
    assert.equal((await stream.final()).status, 'completed');
    assert.equal(calls[0]?.method, 'GET');
    assert.equal(calls[0]?.url.pathname, '/v1/batches/batch_1/events');
    assert.equal(calls[0]?.headers.get('accept'), 'text/event-stream');
    assert.equal(calls[0]?.headers.get('idempotency-key'), null);
  });

  test('an HTTP error before the stream began is retried, being a GET', async () => {
    const { client, calls } = scripted(() =>
      calls.length === 1 ? unavailable() : sse(event('done', batch('completed'))),
    );

    const stream = await client.batches.events('batch_1');

    assert.equal((await stream.final()).status, 'completed');
    assert.equal(stream.meta.attempts, 2);
  });

  test('a POST stream answered with an HTTP error is still not retried', async () => {
    const { client, calls } = scripted(() => unavailable());

    await assert.rejects(client.inference.completeStream({ model: 'm', prompt: 'p' }), { status: 503 });
    assert.equal(calls.length, 1);
  });
});

describe('waitFor', () => {
  test('follows the progress stream to the terminal batch, reporting each change', async () => {
    const { client } = scripted(() =>
      sse(event('progress', batch('running', 1)), event('done', batch('completed', 2))),
    );
    const progress: string[] = [];

    const done = await client.batches.waitFor('batch_1', { onProgress: (b) => progress.push(b.status) });

    assert.equal(done.status, 'completed');
    assert.deepEqual(progress, ['running', 'completed']);
  });

  test('polls when the stream breaks before its done event', async () => {
    const polls = [batch('running', 1), batch('running', 1), batch('completed', 2)];
    const { client, calls } = scripted((call) =>
      call.url.pathname.endsWith('/events') ? sse(event('progress', batch('running', 1))) : json(polls.shift()),
    );
    const progress: string[] = [];

    const done = await client.batches.waitFor(
      'batch_1',
      { pollIntervalMs: 1, onProgress: (b) => progress.push(`${b.status}:${b.counts.completed}`) },
      { maxRetries: 0 },
    );

    assert.equal(done.status, 'completed');
    assert.equal(calls.filter((call) => call.url.pathname === '/v1/batches/batch_1').length, 3);
    assert.deepEqual(progress, ['running:1', 'completed:2'], 'an unchanged batch is reported once');
  });

  test('an unknown batch rejects with NotFoundError, without polling', async () => {
    const { client, calls } = scripted(() => notFound());

    await assert.rejects(client.batches.waitFor('nope'), NotFoundError);
    assert.equal(calls.length, 1);
  });

  test('timeoutMs: rejects with BatchWaitTimeoutError holding the last batch seen', async () => {
    const { client } = scripted((_call, init) => progressThenSilence(init?.signal));

    const error = await client.batches.waitFor('batch_1', { timeoutMs: 50 }).then(
      () => assert.fail('expected a timeout'),
      (reason: unknown) => reason,
    );

    assert.ok(error instanceof BatchWaitTimeoutError);
    assert.equal(error.batch?.status, 'running');
  });

  test("the caller's signal: rejects with APIUserAbortError", async () => {
    const { client } = scripted((_call, init) => silent(init?.signal));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);

    await assert.rejects(client.batches.waitFor('batch_1', {}, { signal: controller.signal }), APIUserAbortError);
  });
});

/** One progress event, then nothing until the request is aborted. */
function progressThenSilence(signal: AbortSignal | null | undefined): Response {
  const bytes = new TextEncoder().encode(event('progress', batch('running', 1)));
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
      signal?.addEventListener('abort', () => controller.error(signal.reason), { once: true });
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}
