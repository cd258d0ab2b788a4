// What the live tests share: the server and tokens that scripts/test-live.sh provides, and a
// fetch wrapper that records (and can sabotage) what the SDK sends.
import assert from 'node:assert/strict';
import { Client, type ClientOptions } from '../../src/index.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the live tests through scripts/test-live.sh`);
  return value;
}

export const BASE_URL = required('BASE_URL');

export const TOKENS = {
  /** Customer `sdk-test`: most tests. */
  main: required('API_TOKEN'),
  /** A token limited to 1 request per second. */
  rateOne: required('API_TOKEN_RATE1'),
  /** Customer `sdk-test-replay`: nothing else charges it, so usage deltas are exact. */
  replay: required('API_TOKEN_REPLAY'),
};

/** Models registered by the test script: deterministic fake backends for pipeline cases. */
export const MODELS = {
  chat: 'smollm2-135m-instruct',
  embedding: 'all-minilm-l6-v2',
  fake: 'fake-chat', // 5 tokens, echoing the prompt's words
  slow: 'fake-slow', // 5 tokens, 0.3 s each
  failing: 'fake-fail', // 2 tokens, then an upstream_error
  overloaded: 'fake-overloaded', // 503 model_overloaded before any token
} as const;

export function client(options: ClientOptions = {}): Client {
  return new Client({ token: TOKENS.main, baseURL: BASE_URL, ...options });
}

export interface RecordedCall {
  url: string;
  method: string;
  headers: Headers;
}

/** A fetch that records every call; `sabotage(callIndex, realFetch)` may replace a call's outcome. */
export function recordingFetch(
  sabotage?: (call: number, url: string, init: RequestInit | undefined) => Promise<Response | undefined>,
): { fetch: typeof fetch; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const wrapped = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    calls.push({ url, method: init?.method ?? 'GET', headers: new Headers(init?.headers) });
    return (await sabotage?.(calls.length - 1, url, init)) ?? fetch(input, init);
  };
  return { fetch: wrapped as typeof fetch, calls };
}

/** Like `fetch` failing with a reset connection (undici throws a TypeError). */
export function connectionReset(): TypeError {
  return new TypeError('fetch failed', { cause: new Error('socket hang up') });
}

/** The error `promise` rejects with; fails the test if it resolves. */
export async function rejection(promise: PromiseLike<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new assert.AssertionError({ message: 'expected a rejection, got a value' });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
