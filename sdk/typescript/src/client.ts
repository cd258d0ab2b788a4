// The entry point: configuration, and the ways a resource talks to the server (get, post,
// postStream, getStream). Resources hold no HTTP logic of their own.
import { APIError } from './core/error.js';
import { assertKnownOptions } from './core/options.js';
import { send, type ClientConfig, type QueryValue, type RequestOptions, type RequestSpec } from './core/http.js';
import { APIPromise, responseMeta, type WithResponse } from './core/response.js';
import { COMPLETION_EVENTS, Stream, type StreamEventNames } from './core/streaming.js';
import { Batches } from './resources/batches.js';
import { Embeddings } from './resources/embeddings.js';
import { Inference } from './resources/inference.js';
import { Models } from './resources/models.js';
import { Usage } from './resources/usage.js';
import type { Meta } from './types.js';

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8000';

export interface ClientOptions {
  /** An API token (`ipk_…`). Default: the API_TOKEN environment variable. */
  token?: string | undefined;
  /** The server's root, without `/v1`. Default: API_BASE_URL, else http://127.0.0.1:8000. */
  baseURL?: string | undefined;
  /** Milliseconds until a response must have arrived; for a stream, the longest silence. Default 60 000. */
  timeout?: number;
  /** Retries after the first attempt (connection errors, 409 in progress, 429, 5xx). Default 2. */
  maxRetries?: number;
  /** A fetch implementation; default: the global fetch of Node 20+. */
  fetch?: typeof fetch;
  /** Headers added to every request. */
  defaultHeaders?: Record<string, string>;
}

/** Every ClientOptions key: the constructor refuses any other (a typo in plain JavaScript). */
const CLIENT_OPTIONS: readonly (keyof ClientOptions)[] = [
  'token',
  'baseURL',
  'timeout',
  'maxRetries',
  'fetch',
  'defaultHeaders',
];

function fromEnv(name: string): string | undefined {
  return typeof process === 'undefined' ? undefined : process.env[name] || undefined;
}

export class Client {
  readonly inference = new Inference(this);
  readonly embeddings = new Embeddings(this);
  readonly models = new Models(this);
  readonly usage = new Usage(this);
  readonly batches = new Batches(this);
  readonly #config: ClientConfig;

  constructor(options: ClientOptions = {}) {
    assertKnownOptions(options, CLIENT_OPTIONS);
    const token = options.token ?? fromEnv('API_TOKEN');
    if (!token) throw new Error('Client needs an API token: pass { token } or set API_TOKEN.');
    this.#config = {
      token,
      baseURL: options.baseURL ?? fromEnv('API_BASE_URL') ?? DEFAULT_BASE_URL,
      timeout: options.timeout ?? 60_000,
      maxRetries: options.maxRetries ?? 2,
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      defaultHeaders: options.defaultHeaders ?? {},
    };
  }

  get baseURL(): string {
    return this.#config.baseURL;
  }

  /** GET `path` and unwrap its envelope. Low level: prefer the resource methods. */
  get<T>(path: string, query?: Record<string, QueryValue>, options?: RequestOptions): APIPromise<T> {
    return new APIPromise(this.#json<T>({ method: 'GET', path, query }, options));
  }

  /** POST `body` to `path` (with an Idempotency-Key) and unwrap the envelope. */
  post<T>(path: string, body: unknown, options?: RequestOptions): APIPromise<T> {
    return new APIPromise(this.#json<T>({ method: 'POST', path, body }, options));
  }

  /** POST `body` to `path` and resolve, once the 200 arrived, to a Stream of its events. */
  postStream<Chunk, Final>(
    path: string,
    body: unknown,
    options: RequestOptions = {},
  ): APIPromise<Stream<Chunk, Final>> {
    const spec: RequestSpec = { method: 'POST', path, body, stream: true };
    return new APIPromise(this.#stream<Chunk, Final>(spec, options, COMPLETION_EVENTS));
  }

  /** GET `path` as Server-Sent Events and resolve, once the 200 arrived, to a Stream: `events.item`
   * events are its items, the `events.final` event settles `final()`. */
  getStream<Chunk, Final>(
    path: string,
    query: Record<string, QueryValue> | undefined,
    events: StreamEventNames,
    options: RequestOptions = {},
  ): APIPromise<Stream<Chunk, Final>> {
    const spec: RequestSpec = { method: 'GET', path, query, stream: true };
    return new APIPromise(this.#stream<Chunk, Final>(spec, options, events));
  }

  async #json<T>(spec: Parameters<typeof send>[1], options?: RequestOptions): Promise<WithResponse<T>> {
    const { result, context } = await send(this.#config, spec, options);
    const envelope = result.body as { data?: T; meta?: Meta } | null;
    if (envelope === null || typeof envelope !== 'object' || !('data' in envelope)) {
      const requestId = result.response.headers.get('x-request-id') ?? undefined;
      throw new APIError(`${result.response.status}: the response is not an envelope.`, {
        status: result.response.status,
        requestId,
        headers: result.response.headers,
      });
    }
    return { data: envelope.data as T, meta: responseMeta(result.response, context, envelope.meta) };
  }

  async #stream<Chunk, Final>(
    spec: RequestSpec,
    options: RequestOptions,
    events: StreamEventNames,
  ): Promise<WithResponse<Stream<Chunk, Final>>> {
    const { result, context } = await send(this.#config, spec, options);
    const meta = responseMeta(result.response, context);
    const idleTimeoutMs = options.timeout ?? this.#config.timeout;
    const { response, abort } = result;
    const stream = new Stream<Chunk, Final>({ response, abort, meta, idleTimeoutMs, events });
    return { data: stream, meta };
  }
}
