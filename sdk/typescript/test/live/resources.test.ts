// Every method against the live server; the happy paths of generation use the real local models.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MODELS, client } from './setup.js';

const api = client();

describe('inference on the real local model', () => {
  test('complete: given a prompt, returns text, usage and the response meta', async () => {
    const { data, meta } = await api.inference
      .complete({ model: MODELS.chat, prompt: 'Hello', max_tokens: 5 })
      .withResponse();

    assert.match(data.id, /^cmpl_/);
    assert.equal(data.model, MODELS.chat);
    assert.equal(typeof data.choices[0]?.text, 'string');
    assert.ok(data.usage.completion_tokens >= 1 && data.usage.completion_tokens <= 5);
    assert.equal(data.usage.total_tokens, data.usage.prompt_tokens + data.usage.completion_tokens);
    assert.match(meta.requestId ?? '', /^req_[A-Za-z0-9_-]{24}$/);
    assert.equal(meta.requestId, meta.envelopeMeta?.request_id);
    assert.equal(meta.rateLimit?.limit, 50);
    assert.ok(meta.idempotencyKey, 'every POST carries an Idempotency-Key');
    assert.equal(meta.replayed, false);
  });

  test('chat: given messages, returns an assistant message', async () => {
    const chat = await api.inference.chat({
      model: MODELS.chat,
      messages: [{ role: 'user', content: 'Say hi.' }],
      max_tokens: 5,
    });

    assert.match(chat.id, /^chatcmpl_/);
    assert.equal(chat.choices[0]?.message.role, 'assistant');
    assert.ok(chat.usage.completion_tokens <= 5);
  });

  test('chatStream: yields chunks, then final() gives finish reason and usage', async () => {
    const stream = await api.inference.chatStream({
      model: MODELS.chat,
      messages: [{ role: 'user', content: 'Count to three.' }],
      max_tokens: 6,
    });
    const deltas: string[] = [];
    for await (const chunk of stream) deltas.push(chunk.delta);
    const done = await stream.final();

    assert.ok(deltas.length >= 1 && deltas.join('').length > 0);
    assert.ok(['stop', 'length'].includes(done.finish_reason));
    assert.equal(done.usage.completion_tokens, deltas.length);
    assert.match(stream.meta.requestId ?? '', /^req_/);
    assert.equal(stream.meta.status, 200);
    assert.ok(stream.meta.rateLimit);
  });
});

describe('inference on the fake model', () => {
  test('completeStream: the exact chunks, then the usage', async () => {
    const stream = await api.inference.completeStream({ model: MODELS.fake, prompt: 'hello world' });
    const deltas: string[] = [];
    for await (const chunk of stream) deltas.push(chunk.delta);

    assert.deepEqual(deltas, ['hello', ' world', ' hello', ' world', ' hello']);
    assert.deepEqual(await stream.final(), {
      finish_reason: 'stop',
      usage: { prompt_tokens: 2, completion_tokens: 5, total_tokens: 7 },
    });
  });

  test('final() without iterating: drains the stream and resolves to the done data', async () => {
    const stream = await api.inference.completeStream({ model: MODELS.fake, prompt: 'a b', max_tokens: 3 });

    const done = await stream.final();

    assert.deepEqual(done, {
      finish_reason: 'length',
      usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 },
    });
  });
});

describe('embeddings', () => {
  test('create: one normalized 384-dimensional vector per input', async () => {
    const result = await api.embeddings.create({ model: MODELS.embedding, input: ['Hello', 'World'] });

    assert.equal(result.items.length, 2);
    for (const item of result.items) {
      assert.equal(item.embedding.length, 384);
      const norm = Math.sqrt(item.embedding.reduce((sum, x) => sum + x * x, 0));
      assert.ok(Math.abs(norm - 1) < 1e-3);
    }
    assert.ok(result.usage.prompt_tokens > 0);
  });
});

describe('models', () => {
  test('list: awaited, the first page', async () => {
    const page = await api.models.list({ limit: 2 });

    assert.equal(page.items.length, 2);
    assert.equal(typeof page.next_cursor, 'string');
  });

  test('list: iterated, every model across pages', async () => {
    const ids: string[] = [];
    for await (const model of api.models.list({ limit: 2 })) ids.push(model.id);

    for (const id of Object.values(MODELS)) assert.ok(ids.includes(id), `${id} listed`);
    assert.equal(new Set(ids).size, ids.length, 'no model twice');
  });

  test('get: one model by id', async () => {
    const model = await api.models.get(MODELS.embedding);

    assert.equal(model.id, MODELS.embedding);
    assert.equal(model.kind, 'embedding');
  });
});

describe('usage', () => {
  test('get: per-day, per-model usage of the calling customer', async () => {
    await api.inference.complete({ model: MODELS.fake, prompt: 'count me' });
    const today = new Date().toISOString().slice(0, 10);

    const report = await api.usage.get({ start: today, end: today });

    assert.equal(report.start, today);
    const fake = report.items.find((item) => item.model === MODELS.fake);
    assert.ok(fake && fake.requests >= 1 && fake.total_tokens >= 1);
  });
});
