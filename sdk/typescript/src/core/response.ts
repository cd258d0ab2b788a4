// Methods resolve to the envelope's `data`; everything else a response tells (request id, rate-limit
// state, replay) lives in a ResponseMeta that `.withResponse()` hands out next to the data. A
// separate object rather than hidden properties on `data`, so data stays plain JSON.
import type { Meta } from '../types.js';

/** The `X-RateLimit-*` headers that every response carries (docs/api-contract.md, "Rate limits"). */
export interface RateLimitInfo {
  /** Requests allowed per window. */
  limit: number;
  /** Requests left in the current window. */
  remaining: number;
  /** Whole seconds until the window resets. */
  reset: number;
}

export interface ResponseMeta {
  status: number;
  /** `req_…`; for a replay, the id of the request that executed. */
  requestId: string | undefined;
  /** When the server produced the response (`meta.timestamp`); not known for streams. */
  timestamp: string | undefined;
  rateLimit: RateLimitInfo | undefined;
  /** True when the server replayed a stored response for this Idempotency-Key. */
  replayed: boolean;
  /** The Idempotency-Key sent (every POST has one). */
  idempotencyKey: string | undefined;
  /** How many HTTP attempts it took (1 + retries). */
  attempts: number;
  headers: Headers;
  /** The envelope's `meta` as sent; it may gain fields. */
  envelopeMeta: Meta | undefined;
}

export interface WithResponse<T> {
  data: T;
  meta: ResponseMeta;
}

export interface MetaContext {
  idempotencyKey: string | undefined;
  attempts: number;
}

function headerInt(headers: Headers, name: string): number | undefined {
  const value = headers.get(name);
  const parsed = value === null ? NaN : Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

export function rateLimitFrom(headers: Headers): RateLimitInfo | undefined {
  const limit = headerInt(headers, 'x-ratelimit-limit');
  const remaining = headerInt(headers, 'x-ratelimit-remaining');
  const reset = headerInt(headers, 'x-ratelimit-reset');
  if (limit === undefined || remaining === undefined || reset === undefined) return undefined;
  return { limit, remaining, reset };
}

export function responseMeta(response: Response, context: MetaContext, envelopeMeta?: Meta): ResponseMeta {
  const headers = response.headers;
  return {
    status: response.status,
    requestId: headers.get('x-request-id') ?? envelopeMeta?.request_id,
    timestamp: envelopeMeta?.timestamp,
    rateLimit: rateLimitFrom(headers),
    replayed: headers.get('idempotent-replayed') === 'true',
    idempotencyKey: context.idempotencyKey,
    attempts: context.attempts,
    headers,
    envelopeMeta,
  };
}

/**
 * A promise of a method's `data` that can also hand out the response metadata:
 *
 *     const completion = await client.inference.complete(params);
 *     const { data, meta } = await client.inference.complete(params).withResponse();
 */
export class APIPromise<T> implements PromiseLike<T> {
  readonly #result: Promise<WithResponse<T>>;

  constructor(result: Promise<WithResponse<T>>) {
    this.#result = result;
  }

  withResponse(): Promise<WithResponse<T>> {
    return this.#result;
  }

  then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#result.then((result) => result.data).then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this.then(undefined, onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onfinally);
  }

  get [Symbol.toStringTag](): string {
    return 'APIPromise';
  }
}
