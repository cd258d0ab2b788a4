// One HTTP attempt: fetch with a deadline, and every failure turned into a typed APIError.
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  errorFromResponse,
} from './error.js';

/** Aborts the fetch on the deadline or on the caller's signal, and remembers which it was. */
export class AttemptAbort {
  readonly controller = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timedOut = false;
  #cancelled = false;
  readonly #userSignal: AbortSignal | undefined;
  readonly #onUserAbort = (): void => this.controller.abort(this.#userSignal?.reason);

  constructor(userSignal: AbortSignal | undefined, timeoutMs: number) {
    this.#userSignal = userSignal;
    if (userSignal?.aborted) this.controller.abort(userSignal.reason);
    userSignal?.addEventListener('abort', this.#onUserAbort, { once: true });
    this.restartTimer(timeoutMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** (Re)arms the deadline; a stream calls this on every read, making it an idle timeout. */
  restartTimer(timeoutMs: number): void {
    this.clearTimer();
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.controller.abort(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  }

  clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Aborts on the SDK user's behalf (a stream closed early); reported as APIUserAbortError. */
  cancel(): void {
    this.#cancelled = true;
    this.controller.abort();
  }

  dispose(): void {
    this.clearTimer();
    this.#userSignal?.removeEventListener('abort', this.#onUserAbort);
  }

  /** The typed error for whatever `fetch` or a body read threw during this attempt. */
  toAPIError(error: unknown): APIError {
    if (error instanceof APIError) return error;
    if (this.#timedOut) return new APIConnectionTimeoutError('Request timed out.', { cause: error });
    if (this.#cancelled || this.#userSignal?.aborted) {
      return new APIUserAbortError('Request aborted.', { cause: error });
    }
    const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : '';
    return new APIConnectionError(`Connection error${reason ? `: ${reason}` : ''}.`, { cause: error });
  }
}

export interface AttemptSpec {
  fetch: typeof fetch;
  url: string;
  init: RequestInit;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  /** A 2xx stream hands back its unread body; anything else is read here. */
  stream: boolean;
}

export interface AttemptResult {
  response: Response;
  /** The parsed JSON (or text) of a non-stream response. */
  body: unknown;
  /** Still armed for a stream: the stream owns it from here. */
  abort: AttemptAbort;
}

export async function attempt(spec: AttemptSpec): Promise<AttemptResult> {
  const abort = new AttemptAbort(spec.signal, spec.timeoutMs);
  try {
    const response = await spec.fetch(spec.url, { ...spec.init, signal: abort.signal });
    if (spec.stream && response.ok) {
      return { response, body: undefined, abort };
    }
    const body = await readBody(response);
    if (!response.ok) throw errorFromResponse(response.status, body, response.headers);
    abort.dispose();
    return { response, body, abort };
  } catch (error) {
    abort.dispose();
    throw abort.toAPIError(error);
  }
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // a proxy's HTML error page, say: kept for the error message
  }
}
