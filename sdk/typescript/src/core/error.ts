// One class per status family, so callers branch with `instanceof` instead of parsing messages.
// Every error carries what a bug report needs: status, code, param and the request id.
import type { Batch, ErrorBody, ErrorCode, ErrorEnvelope } from '../types.js';

export interface APIErrorInit {
  status?: number | undefined;
  code?: ErrorCode | undefined;
  param?: string | null | undefined;
  details?: ErrorBody['details'] | undefined;
  requestId?: string | undefined;
  headers?: Headers | undefined;
  cause?: unknown;
}

export class APIError extends Error {
  /** HTTP status; undefined when no response arrived (connection errors). */
  readonly status: number | undefined;
  /** The server's stable error code (docs/api-contract.md, "Errors"); undefined when the body was not an envelope. */
  readonly code: ErrorCode | undefined;
  /** The request field at fault, e.g. `max_tokens` or `Idempotency-Key`. */
  readonly param: string | null;
  readonly details: ErrorBody['details'];
  /** `req_…`: quote it when reporting a problem. */
  readonly requestId: string | undefined;
  readonly headers: Headers | undefined;

  constructor(message: string, init: APIErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code;
    this.param = init.param ?? null;
    this.details = init.details ?? null;
    this.requestId = init.requestId;
    this.headers = init.headers;
  }
}

/** 400, 413, 415: the request itself is wrong; `param` names the field when there is one. */
export class BadRequestError extends APIError {}
export class AuthenticationError extends APIError {}
export class PermissionDeniedError extends APIError {}
export class NotFoundError extends APIError {}
/** 409 `idempotency_request_in_progress`: the same key is still executing (retried automatically). */
export class ConflictError extends APIError {}
/** 422 `idempotency_key_reused`: the key was used before with a different request. */
export class UnprocessableEntityError extends APIError {}
export class RateLimitError extends APIError {}
/** 5xx, and `error` events in a stream whose code maps to 5xx. */
export class InternalServerError extends APIError {}

/** No response: DNS, refused or reset connection, or a timeout (see the subclass). */
export class APIConnectionError extends APIError {}
export class APIConnectionTimeoutError extends APIConnectionError {}
/** The caller's AbortSignal fired; never retried. */
export class APIUserAbortError extends APIError {}

/** `client.batches.waitFor` ran out of its `timeoutMs`; the batch goes on running on the server. */
export class BatchWaitTimeoutError extends APIError {
  /** The batch as last seen (undefined if no answer came at all). */
  readonly batch: Batch | undefined;

  constructor(message: string, init: { batch: Batch | undefined; cause?: unknown }) {
    super(message, { cause: init.cause });
    this.batch = init.batch;
  }
}

// The server's closed table (docs/api-contract.md, "Errors"). Typed against the generated ErrorCode union, so a code
// added to the schema fails `tsc` here until it has a status.
const STATUS_BY_CODE: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_json: 400,
  idempotency_key_invalid: 400,
  authentication_required: 401,
  invalid_token: 401,
  permission_denied: 403,
  not_found: 404,
  method_not_allowed: 405,
  idempotency_request_in_progress: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  rate_limited: 429,
  internal_error: 500,
  upstream_error: 502,
  model_overloaded: 503,
  service_unavailable: 503,
  upstream_timeout: 504,
};

function classFor(status: number): typeof APIError {
  if (status === 400 || status === 413 || status === 415) return BadRequestError;
  if (status === 401) return AuthenticationError;
  if (status === 403) return PermissionDeniedError;
  if (status === 404) return NotFoundError;
  if (status === 409) return ConflictError;
  if (status === 422) return UnprocessableEntityError;
  if (status === 429) return RateLimitError;
  if (status >= 500) return InternalServerError;
  return APIError;
}

function isErrorEnvelope(body: unknown): body is ErrorEnvelope {
  const error = (body as { error?: unknown } | null)?.error;
  return typeof error === 'object' && error !== null && typeof (error as ErrorBody).code === 'string';
}

/** The typed error for an HTTP error response; `body` is its parsed JSON or its text. */
export function errorFromResponse(status: number, body: unknown, headers: Headers): APIError {
  const requestId = headers.get('x-request-id') ?? undefined;
  const ErrorClass = classFor(status);
  if (!isErrorEnvelope(body)) {
    const text = typeof body === 'string' ? body.slice(0, 200) : 'no error envelope';
    return new ErrorClass(`${status}: ${text}`, { status, requestId, headers });
  }
  const { code, message, param, details } = body.error;
  const id = body.meta?.request_id ?? requestId;
  return new ErrorClass(`${status} ${code}: ${message}`, { status, code, param, details, requestId: id, headers });
}

/** The typed error for an `error` event of a stream: the 200 is long gone, so the status comes
 * from the code's entry in the contract's table. */
export function errorFromStreamEvent(envelope: ErrorEnvelope, headers: Headers): APIError {
  return errorFromResponse(STATUS_BY_CODE[envelope.error.code] ?? 500, envelope, headers);
}
