import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  ConflictError,
  InternalServerError,
  RateLimitError,
} from '../../src/core/error.js';
import { backoffMs, isRetryable, retryDelay, serverDelayMs } from '../../src/core/retry.js';

const noJitter = (): number => 0;

describe('serverDelayMs', () => {
  test('prefers Retry-After-Ms over Retry-After over X-RateLimit-Reset', () => {
    const exhausted = { 'x-ratelimit-reset': '3', 'x-ratelimit-remaining': '0' };
    assert.equal(serverDelayMs(new Headers({ ...exhausted, 'retry-after-ms': '735', 'retry-after': '1' })), 735);
    assert.equal(serverDelayMs(new Headers({ ...exhausted, 'retry-after': '2' })), 2000);
    assert.equal(serverDelayMs(new Headers(exhausted)), 3000);
  });

  test('reads Retry-After as an HTTP date', () => {
    const now = Date.parse('2026-03-15T10:00:00Z');
    assert.equal(serverDelayMs(new Headers({ 'retry-after': 'Sun, 15 Mar 2026 10:00:03 GMT' }), now), 3000);
  });

  test('ignores X-RateLimit-Reset while requests remain in the window', () => {
    assert.equal(serverDelayMs(new Headers({ 'x-ratelimit-reset': '1', 'x-ratelimit-remaining': '4' })), undefined);
  });
});

describe('backoffMs', () => {
  test('doubles from 0.5 s up to 8 s, shortened by at most 25% of jitter', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, noJitter));
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
    assert.equal(backoffMs(0, () => 1), 375);
  });
});

describe('isRetryable', () => {
  const status = (ErrorClass: typeof APIError, code: string | undefined, s: number): APIError =>
    new ErrorClass('x', { status: s, code: code as never });

  test('requests: connection errors, 409 in progress, 429 and 5xx', () => {
    assert.equal(isRetryable(new APIConnectionError('x'), false), true);
    assert.equal(isRetryable(new APIConnectionTimeoutError('x'), false), true);
    assert.equal(isRetryable(status(ConflictError, 'idempotency_request_in_progress', 409), false), true);
    assert.equal(isRetryable(status(RateLimitError, 'rate_limited', 429), false), true);
    assert.equal(isRetryable(status(InternalServerError, 'upstream_error', 502), false), true);
    assert.equal(isRetryable(status(APIError, 'invalid_request', 400), false), false);
    assert.equal(isRetryable(new APIUserAbortError('x'), false), false);
  });

  test('streams: only when no response arrived', () => {
    assert.equal(isRetryable(new APIConnectionError('x'), true), true);
    assert.equal(isRetryable(status(RateLimitError, 'rate_limited', 429), true), false);
    assert.equal(isRetryable(status(InternalServerError, 'model_overloaded', 503), true), false);
  });
});

describe('retryDelay', () => {
  const limited = new RateLimitError('x', { status: 429, headers: new Headers({ 'retry-after-ms': '600' }) });

  test('honours the server hint, never earlier', () => {
    assert.equal(retryDelay({ error: limited, retriesSoFar: 0, maxRetries: 2, stream: false }, noJitter), 600);
    assert.equal(retryDelay({ error: limited, retriesSoFar: 0, maxRetries: 2, stream: false }, () => 1), 660);
  });

  test('gives up after maxRetries', () => {
    assert.equal(retryDelay({ error: limited, retriesSoFar: 2, maxRetries: 2, stream: false }), undefined);
  });

  test('falls back to backoff when the hint is absurd', () => {
    const far = new RateLimitError('x', { status: 429, headers: new Headers({ 'retry-after': '3600' }) });
    assert.equal(retryDelay({ error: far, retriesSoFar: 1, maxRetries: 2, stream: false }, noJitter), 1000);
  });
});
