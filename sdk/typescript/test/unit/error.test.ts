import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  APIError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  UnprocessableEntityError,
  errorFromResponse,
  errorFromStreamEvent,
} from '../../src/core/error.js';
import type { ErrorCode, ErrorEnvelope } from '../../src/types.js';

function envelope(code: ErrorCode, param: string | null = null): ErrorEnvelope {
  return {
    data: null,
    error: { code, message: 'Something.', param, details: null },
    meta: { request_id: 'req_abcdefghijklmnopqrstuvwx', timestamp: '2026-03-15T10:00:00Z' },
  };
}

test('one class per status family', () => {
  const cases: Array<[number, typeof APIError]> = [
    [400, BadRequestError],
    [413, BadRequestError],
    [415, BadRequestError],
    [401, AuthenticationError],
    [403, PermissionDeniedError],
    [404, NotFoundError],
    [409, ConflictError],
    [422, UnprocessableEntityError],
    [429, RateLimitError],
    [500, InternalServerError],
    [503, InternalServerError],
    [405, APIError],
  ];
  for (const [status, ErrorClass] of cases) {
    const error = errorFromResponse(status, envelope('invalid_request'), new Headers());
    assert.equal(error.constructor, ErrorClass, `status ${status}`);
    assert.equal(error.status, status);
  }
});

test('the envelope fills code, param, message and request id', () => {
  const error = errorFromResponse(400, envelope('invalid_request', 'max_tokens'), new Headers());

  assert.equal(error.code, 'invalid_request');
  assert.equal(error.param, 'max_tokens');
  assert.equal(error.requestId, 'req_abcdefghijklmnopqrstuvwx');
  assert.equal(error.message, '400 invalid_request: Something.');
  assert.equal(error.name, 'BadRequestError');
});

test('a body that is no envelope still gives a typed error', () => {
  const error = errorFromResponse(502, '<html>Bad Gateway</html>', new Headers({ 'x-request-id': 'req_x' }));

  assert.ok(error instanceof InternalServerError);
  assert.equal(error.code, undefined);
  assert.equal(error.requestId, 'req_x');
});

test("a stream's error event takes the status of its code", () => {
  assert.equal(errorFromStreamEvent(envelope('upstream_timeout'), new Headers()).status, 504);
  assert.ok(errorFromStreamEvent(envelope('model_overloaded'), new Headers()) instanceof InternalServerError);
  assert.ok(errorFromStreamEvent(envelope('rate_limited'), new Headers()) instanceof RateLimitError);
});
