// Each error family as the server really produces it, and a stream's `error` event.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
  UnprocessableEntityError,
} from '../../src/index.js';
import { MODELS, TOKENS, client, rejection, sleep } from './setup.js';

const api = client();

function assertContext(error: unknown): asserts error is APIError {
  assert.ok(error instanceof APIError);
  assert.match(error.requestId ?? '', /^req_/);
  assert.ok(error.headers?.get('x-ratelimit-limit'), 'error responses carry the rate-limit headers');
}

describe('typed errors', () => {
  test('401: a bad token is an AuthenticationError', async () => {
    const anonymous = client({ token: 'ipk_not_a_real_token' });

    const error = await rejection(anonymous.models.list());

    assert.ok(error instanceof AuthenticationError);
    assertContext(error);
    assert.equal(error.status, 401);
    assert.equal(error.code, 'invalid_token');
  });

  test('404: an unknown model id is a NotFoundError', async () => {
    const error = await rejection(api.models.get('no-such-model'));

    assert.ok(error instanceof NotFoundError);
    assertContext(error);
    assert.equal(error.code, 'not_found');
  });

  test('404: completing with an unknown model names the param', async () => {
    const error = await rejection(api.inference.complete({ model: 'no-such-model', prompt: 'hi' }));

    assert.ok(error instanceof NotFoundError);
    assert.equal(error.param, 'model');
  });

  test('400: a validation error names the field in param and details', async () => {
    const error = await rejection(api.inference.complete({ model: MODELS.fake, prompt: 'hi', max_tokens: 0 }));

    assert.ok(error instanceof BadRequestError);
    assertContext(error);
    assert.equal(error.status, 400);
    assert.equal(error.code, 'invalid_request');
    assert.equal(error.param, 'max_tokens');
    assert.equal(error.details?.[0]?.param, 'max_tokens');
  });

  test('429: over a 1 request/second token, without retries, is a RateLimitError with Retry-After', async () => {
    const limited = client({ token: TOKENS.rateOne, maxRetries: 0 });

    // Three at once cannot all fit in one-second windows of one request each.
    const outcomes = await Promise.allSettled([1, 2, 3].map(() => limited.models.list()));

    const rejected = outcomes.filter((outcome) => outcome.status === 'rejected');
    assert.ok(rejected.length >= 1);
    const error = (rejected[0] as PromiseRejectedResult).reason as unknown;
    assert.ok(error instanceof RateLimitError);
    assertContext(error);
    assert.equal(error.code, 'rate_limited');
    assert.equal(error.headers?.get('x-ratelimit-remaining'), '0');
    assert.ok(Number(error.headers?.get('retry-after-ms')) > 0);
  });

  test('429: with retries, the SDK waits as told and every call succeeds', async () => {
    await sleep(1100); // a fresh window after the test above
    const limited = client({ token: TOKENS.rateOne, maxRetries: 4 });

    const results = await Promise.all([1, 2, 3].map(() => limited.models.list().withResponse()));

    const attempts = results.map((result) => result.meta.attempts).sort((a, b) => a - b);
    assert.equal(attempts[0], 1, 'one call fits the first window');
    assert.ok((attempts[2] ?? 0) >= 2, 'the others were retried');
  });

  test('422: one Idempotency-Key with a different body is an UnprocessableEntityError', async () => {
    const idempotencyKey = `sdk-test-${crypto.randomUUID()}`;
    await api.inference.complete({ model: MODELS.fake, prompt: 'first' }, { idempotencyKey });

    const error = await rejection(api.inference.complete({ model: MODELS.fake, prompt: 'second' }, { idempotencyKey }));

    assert.ok(error instanceof UnprocessableEntityError);
    assert.equal(error.code, 'idempotency_key_reused');
    assert.equal(error.param, 'Idempotency-Key');
  });

  test('409: the same key while the first request runs is a ConflictError (without retries)', async () => {
    const idempotencyKey = `sdk-test-${crypto.randomUUID()}`;
    const params = { model: MODELS.slow, prompt: 'slow one' };
    const first = api.inference.complete(params, { idempotencyKey });
    await sleep(500); // the first request holds the key by now

    const error = await rejection(api.inference.complete(params, { idempotencyKey, maxRetries: 0 }));

    assert.ok(error instanceof ConflictError);
    assert.equal(error.code, 'idempotency_request_in_progress');
    await first;
  });

  test('a stream that fails before its 200 throws like any request (404)', async () => {
    const error = await rejection(api.inference.completeStream({ model: 'no-such-model', prompt: 'hi' }));

    assert.ok(error instanceof NotFoundError);
  });

  test('an `error` event mid-stream is thrown as the typed error of its code', async () => {
    const stream = await api.inference.chatStream({
      model: MODELS.failing,
      messages: [{ role: 'user', content: 'two words' }],
    });
    const deltas: string[] = [];

    const error = await rejection(
      (async () => {
        for await (const chunk of stream) deltas.push(chunk.delta);
      })(),
    );

    assert.deepEqual(deltas, ['two', ' words']);
    assert.ok(error instanceof InternalServerError);
    assert.equal(error.status, 502);
    assert.equal(error.code, 'upstream_error');
    assert.equal(error.requestId, stream.meta.requestId);
    await assert.rejects(stream.final(), InternalServerError);
  });

  test('a request slower than `timeout` is an APIConnectionTimeoutError', async () => {
    const error = await rejection(
      api.inference.complete({ model: MODELS.slow, prompt: 'too slow' }, { timeout: 200, maxRetries: 0 }),
    );

    assert.ok(error instanceof APIConnectionTimeoutError);
    assert.equal(error.status, undefined);
  });

  test("the caller's AbortSignal is an APIUserAbortError, never retried", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);

    const error = await rejection(
      api.inference.complete({ model: MODELS.slow, prompt: 'aborted' }, { signal: controller.signal }),
    );

    assert.ok(error instanceof APIUserAbortError);
  });
});
