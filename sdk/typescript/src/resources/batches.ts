import { APIConnectionError, BatchWaitTimeoutError, InternalServerError } from '../core/error.js';
import type { RequestOptions } from '../core/http.js';
import { assertKnownOptions } from '../core/options.js';
import { PagePromise } from '../core/pagination.js';
import type { APIPromise } from '../core/response.js';
import { sleep } from '../core/retry.js';
import type { Stream, StreamEventNames } from '../core/streaming.js';
import type {
  Batch,
  BatchCreateParams,
  BatchListParams,
  BatchResult,
  BatchResultsParams,
  BatchStatus,
} from '../types.js';
import { APIResource } from './resource.js';

/** A batch's progress: iterate for a `Batch` whenever its status or counts change;
 * `await stream.final()` for the terminal batch. */
export type BatchEventStream = Stream<Batch, Batch>;

const BATCH_EVENTS: StreamEventNames = { item: 'progress', final: 'done' };

/** The statuses a batch never leaves. */
export const TERMINAL_BATCH_STATUSES: readonly BatchStatus[] = ['completed', 'failed', 'cancelled'];

export function isTerminalBatch(batch: Pick<Batch, 'status'>): boolean {
  return TERMINAL_BATCH_STATUSES.includes(batch.status);
}

export interface BatchWaitOptions {
  /** Give up after this many milliseconds with a BatchWaitTimeoutError. Default: wait as long as it takes. */
  timeoutMs?: number;
  /** Milliseconds between two GETs when the progress stream is unavailable. Default 1 000. */
  pollIntervalMs?: number;
  /** Called with the batch whenever its status or counts change, the terminal batch included. */
  onProgress?: (batch: Batch) => void;
}

const WAIT_OPTIONS: readonly (keyof BatchWaitOptions)[] = ['timeoutMs', 'pollIntervalMs', 'onProgress'];

/** Batch jobs: /v1/batches and its sub-resources. */
export class Batches extends APIResource {
  /** POST /v1/batches. Carries an Idempotency-Key like every POST: a retry (or a repeat with your
   * own key and the same body) answers the same batch. */
  create(params: BatchCreateParams, options?: RequestOptions): APIPromise<Batch> {
    return this.client.post('/v1/batches', params, options);
  }

  /** GET /v1/batches/{id}: status and counts. */
  get(batchId: string, options?: RequestOptions): APIPromise<Batch> {
    return this.client.get(path(batchId), undefined, options);
  }

  /** GET /v1/batches, newest first. Await for one page; iterate (`for await`) for every batch. */
  list(params: BatchListParams = {}, options?: RequestOptions): PagePromise<Batch> {
    const { cursor, ...query } = params;
    return new PagePromise((next) => this.client.get('/v1/batches', { ...query, cursor: next }, options), cursor);
  }

  /** POST /v1/batches/{id}/cancel: pending requests are never run; running ones finish. Resolves to
   * the batch (`cancelling`, or `cancelled` when nothing was running); a batch that had already
   * finished is answered unchanged. */
  cancel(batchId: string, options?: RequestOptions): APIPromise<Batch> {
    return this.client.post(`${path(batchId)}/cancel`, undefined, options);
  }

  /** GET /v1/batches/{id}/results, in request order. Await for one page; iterate (`for await`) for
   * every result across pages. Items not yet run have status `pending` or `running`. */
  results(batchId: string, params: BatchResultsParams = {}, options?: RequestOptions): PagePromise<BatchResult> {
    const { cursor, ...query } = params;
    return new PagePromise(
      (next) => this.client.get(`${path(batchId)}/results`, { ...query, cursor: next }, options),
      cursor,
    );
  }

  /** GET /v1/batches/{id}/events (Server-Sent Events). Resolves once the 200 arrived (an unknown id
   * throws NotFoundError here) to a stream of the batch at each change of status or counts; its
   * `final()` is the terminal batch. A batch already finished yields nothing and ends at once. */
  events(batchId: string, options?: RequestOptions): APIPromise<BatchEventStream> {
    return this.client.getStream<Batch, Batch>(`${path(batchId)}/events`, undefined, BATCH_EVENTS, options);
  }

  /** Resolves to the batch once it is `completed`, `failed` or `cancelled`. Follows the progress
   * stream; if that breaks (connection lost, a proxy without streaming), polls `get`. */
  async waitFor(batchId: string, wait: BatchWaitOptions = {}, options: RequestOptions = {}): Promise<Batch> {
    assertKnownOptions(wait, WAIT_OPTIONS, 'wait option');
    const { timeoutMs, pollIntervalMs = 1_000, onProgress } = wait;
    const controller = new AbortController();
    const userSignal = options.signal;
    const onUserAbort = (): void => controller.abort(userSignal?.reason);
    if (userSignal?.aborted) onUserAbort();
    else userSignal?.addEventListener('abort', onUserAbort, { once: true });
    let timedOut = false;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            controller.abort(new Error(`waited ${timeoutMs} ms`));
          }, timeoutMs);

    let last: Batch | undefined;
    const seen = (batch: Batch): void => {
      if (last !== undefined && last.status === batch.status && sameCounts(last, batch)) return;
      last = batch;
      onProgress?.(batch);
    };
    const request: RequestOptions = { ...options, signal: controller.signal };
    try {
      return (await this.#follow(batchId, request, seen)) ?? (await this.#poll(batchId, request, pollIntervalMs, seen));
    } catch (error) {
      if (timedOut) {
        throw new BatchWaitTimeoutError(`Batch ${batchId} did not finish within ${timeoutMs} ms.`, {
          batch: last,
          cause: error,
        });
      }
      throw error;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      userSignal?.removeEventListener('abort', onUserAbort);
    }
  }

  /** The terminal batch from the progress stream; undefined when the stream failed in a way that
   * polling may get past. */
  async #follow(batchId: string, request: RequestOptions, seen: (batch: Batch) => void): Promise<Batch | undefined> {
    try {
      const stream = await this.events(batchId, request);
      for await (const batch of stream) seen(batch);
      const done = await stream.final();
      seen(done);
      return done;
    } catch (error) {
      if (request.signal?.aborted) throw error;
      if (error instanceof APIConnectionError || error instanceof InternalServerError) return undefined;
      throw error; // 404 and the like: polling would answer the same
    }
  }

  async #poll(
    batchId: string,
    request: RequestOptions,
    intervalMs: number,
    seen: (batch: Batch) => void,
  ): Promise<Batch> {
    for (;;) {
      const batch = await this.get(batchId, request);
      seen(batch);
      if (isTerminalBatch(batch)) return batch;
      await sleep(intervalMs, request.signal);
    }
  }
}

function path(batchId: string): string {
  return `/v1/batches/${encodeURIComponent(batchId)}`;
}

function sameCounts(a: Batch, b: Batch): boolean {
  const { counts } = a;
  return (
    counts.total === b.counts.total &&
    counts.completed === b.counts.completed &&
    counts.failed === b.counts.failed &&
    counts.cancelled === b.counts.cancelled
  );
}
