// When to try a request again, and how long to wait first.
//
// Every POST carries one Idempotency-Key for all its attempts, so a retry of a request that did
// execute is answered from the server's stored response instead of running (and charging) again.
// A stream is different: once its first byte arrived the caller may have seen output, so a stream
// is retried only when no response arrived at all.
import { APIConnectionError, APIError, APIUserAbortError } from './error.js';

const INITIAL_DELAY_MS = 500;
const MAX_BACKOFF_MS = 8_000;
// A server hint beyond this is not worth blocking the caller for; fall back to backoff.
const MAX_SERVER_DELAY_MS = 60_000;

export interface RetryDecisionInput {
  error: unknown;
  /** Retries already made (0 before the first retry). */
  retriesSoFar: number;
  maxRetries: number;
  stream: boolean;
}

export function isRetryable(error: unknown, stream: boolean): boolean {
  if (error instanceof APIUserAbortError) return false;
  if (error instanceof APIConnectionError) return true; // no response: nothing was delivered
  if (stream || !(error instanceof APIError) || error.status === undefined) return false;
  if (error.status === 409) return error.code === 'idempotency_request_in_progress';
  return error.status === 429 || error.status >= 500;
}

/** Milliseconds to wait before the next attempt, or undefined to give up and throw. */
export function retryDelay(input: RetryDecisionInput, random: () => number = Math.random): number | undefined {
  if (input.retriesSoFar >= input.maxRetries || !isRetryable(input.error, input.stream)) return undefined;
  const headers = input.error instanceof APIError ? input.error.headers : undefined;
  const hinted = headers ? serverDelayMs(headers) : undefined;
  if (hinted !== undefined && hinted >= 0 && hinted <= MAX_SERVER_DELAY_MS) {
    return hinted + hinted * 0.1 * random(); // never earlier than asked; spread a crowd a little
  }
  return backoffMs(input.retriesSoFar, random);
}

/** Exponential backoff with jitter: 0.5 s, 1 s, 2 s ... up to 8 s, each shortened by up to 25%. */
export function backoffMs(retriesSoFar: number, random: () => number = Math.random): number {
  const base = Math.min(INITIAL_DELAY_MS * 2 ** retriesSoFar, MAX_BACKOFF_MS);
  return base * (1 - 0.25 * random());
}

/** The server's own hint, most precise first: Retry-After-Ms, Retry-After (seconds or an HTTP
 * date), then X-RateLimit-Reset when the window is used up. */
export function serverDelayMs(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms)) return ms;
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return seconds * 1000;
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  const reset = Number(headers.get('x-ratelimit-reset') ?? NaN);
  if (headers.get('x-ratelimit-remaining') === '0' && Number.isFinite(reset)) return reset * 1000;
  return undefined;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new APIUserAbortError('Request aborted.', { cause: signal.reason }));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new APIUserAbortError('Request aborted.', { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
