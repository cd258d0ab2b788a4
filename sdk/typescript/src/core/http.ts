// Builds a request from a method's spec and drives its attempts: one Idempotency-Key per call,
// reused by every retry, and the wait between attempts from core/retry.ts.
import { attempt, type AttemptResult } from './attempt.js';
import { assertKnownOptions } from './options.js';
import type { MetaContext } from './response.js';
import { retryDelay, sleep } from './retry.js';

export const SDK_VERSION = '0.1.0';

export interface ClientConfig {
  baseURL: string;
  token: string;
  timeout: number;
  maxRetries: number;
  fetch: typeof fetch;
  defaultHeaders: Record<string, string>;
}

/** Per-call options; every method takes them as its last argument. */
export interface RequestOptions {
  /** Sent as `Idempotency-Key` on a POST; default: a random UUID per call, reused by its retries. */
  idempotencyKey?: string;
  /** Milliseconds until a response must have arrived (for a stream: the longest silence). */
  timeout?: number;
  maxRetries?: number;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

const REQUEST_OPTIONS: readonly (keyof RequestOptions)[] = ['idempotencyKey', 'timeout', 'maxRetries', 'signal', 'headers'];

export type QueryValue = string | number | boolean | undefined;

export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, QueryValue> | undefined;
  body?: unknown;
  stream?: boolean;
}

export interface Delivered {
  result: AttemptResult;
  context: MetaContext;
}

export async function send(config: ClientConfig, spec: RequestSpec, options: RequestOptions = {}): Promise<Delivered> {
  assertKnownOptions(options, REQUEST_OPTIONS, 'request option');
  const idempotencyKey = spec.method === 'POST' ? (options.idempotencyKey ?? crypto.randomUUID()) : undefined;
  const stream = spec.stream ?? false;
  const maxRetries = options.maxRetries ?? config.maxRetries;
  // A POST stream is retried only when no response arrived (core/retry.ts). A GET stream (a batch's
  // progress) only reads: an HTTP error answer (429, 5xx) delivered nothing, so it is retried like
  // any GET. Once its 200 has arrived, neither kind is retried.
  const retryAsStream = stream && spec.method === 'POST';
  const attemptSpec = {
    fetch: config.fetch,
    url: buildURL(config.baseURL, spec.path, spec.query),
    init: {
      method: spec.method,
      headers: buildHeaders(config, options, { idempotencyKey, stream, hasBody: spec.body !== undefined }),
      body: spec.body === undefined ? null : JSON.stringify(spec.body),
    },
    timeoutMs: options.timeout ?? config.timeout,
    signal: options.signal,
    stream,
  };
  for (let retries = 0; ; retries++) {
    try {
      const result = await attempt(attemptSpec);
      return { result, context: { idempotencyKey, attempts: retries + 1 } };
    } catch (error) {
      const delay = retryDelay({ error, retriesSoFar: retries, maxRetries, stream: retryAsStream });
      if (delay === undefined) throw error;
      await sleep(delay, options.signal);
    }
  }
}

export function buildURL(baseURL: string, path: string, query?: Record<string, QueryValue>): string {
  const url = new URL(baseURL.replace(/\/+$/, '') + path);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  return url.toString();
}

interface HeaderFacts {
  idempotencyKey: string | undefined;
  stream: boolean;
  hasBody: boolean;
}

function buildHeaders(config: ClientConfig, options: RequestOptions, facts: HeaderFacts): Record<string, string> {
  const headers: Record<string, string> = {
    Accept: facts.stream ? 'text/event-stream' : 'application/json',
    Authorization: `Bearer ${config.token}`,
    'User-Agent': `inference-platform-sdk-typescript/${SDK_VERSION}`,
  };
  if (facts.hasBody) headers['Content-Type'] = 'application/json';
  if (facts.idempotencyKey !== undefined) headers['Idempotency-Key'] = facts.idempotencyKey;
  return { ...headers, ...config.defaultHeaders, ...options.headers };
}
