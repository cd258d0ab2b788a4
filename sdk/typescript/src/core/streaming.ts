// A stream of Server-Sent Events, each data an envelope. For a streamed completion, `chunk` events
// become the items of an async iterator, the `done` event's data (finish reason and usage) settles
// `final()`, and an `error` event is thrown as the typed error of its code; a batch's progress
// stream is the same with `progress` events as its items. The request is never retried from here
// on (see core/retry.ts): the caller may already hold part of the output.
import type { ErrorEnvelope } from '../types.js';
import type { AttemptAbort } from './attempt.js';
import { APIConnectionError, APIError, APIUserAbortError, errorFromStreamEvent } from './error.js';
import type { ResponseMeta } from './response.js';
import { readEvents } from './sse.js';

/** Which event types carry the items, and which one ends the stream with the final data. */
export interface StreamEventNames {
  item: string;
  final: string;
}

/** A completion stream's events: `chunk`s, then `done`. */
export const COMPLETION_EVENTS: StreamEventNames = { item: 'chunk', final: 'done' };

export interface StreamInit {
  response: Response;
  abort: AttemptAbort;
  meta: ResponseMeta;
  /** The longest silence (no chunk, no ping) before the stream counts as dead. */
  idleTimeoutMs: number;
  /** Default: COMPLETION_EVENTS. */
  events?: StreamEventNames;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => {}); // a caller who never asks for final() must not see an unhandled rejection
  return { promise, resolve, reject };
}

export class Stream<Chunk, Final> implements AsyncIterable<Chunk> {
  /** Request id and rate-limit state, from the headers of the 200. */
  readonly meta: ResponseMeta;
  readonly #init: StreamInit;
  readonly #final = deferred<Final>();
  #started = false;

  constructor(init: StreamInit) {
    this.#init = init;
    this.meta = init.meta;
  }

  /** The `done` event's data. Consumes the rest of the stream if nobody is iterating it. */
  final(): Promise<Final> {
    if (!this.#started) void this.#drain();
    return this.#final.promise;
  }

  /** Stops reading and closes the connection; the server cancels the generation. */
  abort(): void {
    this.#init.abort.cancel();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Chunk> {
    if (this.#started) throw new Error('A Stream can be iterated once; use final() for its end.');
    this.#started = true;
    const { response, abort, idleTimeoutMs, events = COMPLETION_EVENTS } = this.#init;
    let settled = false;
    try {
      const body = response.body ?? new ReadableStream<Uint8Array>();
      for await (const event of readEvents(body, () => abort.restartTimer(idleTimeoutMs))) {
        const envelope = this.#parse(event.data);
        if (event.event === events.item) yield envelope.data as Chunk;
        else if (event.event === events.final) {
          settled = true;
          this.#final.resolve(envelope.data as Final);
          return;
        } else if (event.event === 'error') throw errorFromStreamEvent(envelope as ErrorEnvelope, response.headers);
        // Other event types may be added to the contract; skipping them keeps old SDKs working.
      }
      throw new APIConnectionError(`The stream ended before its ${events.final} event.`, this.#errorContext());
    } catch (error) {
      settled = true;
      const typed = abort.toAPIError(error);
      this.#final.reject(typed);
      throw typed;
    } finally {
      if (!settled) {
        abort.cancel(); // the caller stopped early: let the server stop generating
        this.#final.reject(new APIUserAbortError('The stream was closed before its done event.'));
      }
      abort.dispose();
    }
  }

  async #drain(): Promise<void> {
    try {
      for await (const _ of this);
    } catch {
      // reported through final()
    }
  }

  #parse(data: string): { data: unknown; error: unknown } {
    try {
      return JSON.parse(data) as { data: unknown; error: unknown };
    } catch (cause) {
      throw new APIError('The stream sent an event that is not JSON.', { ...this.#errorContext(), cause });
    }
  }

  #errorContext(): { requestId: string | undefined; headers: Headers } {
    return { requestId: this.meta.requestId, headers: this.#init.response.headers };
  }
}
