export { Client, DEFAULT_BASE_URL, type ClientOptions } from './client.js';
export {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  BatchWaitTimeoutError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  UnprocessableEntityError,
} from './core/error.js';
export type { RequestOptions } from './core/http.js';
export { PagePromise } from './core/pagination.js';
export { APIPromise, type RateLimitInfo, type ResponseMeta, type WithResponse } from './core/response.js';
export { Stream } from './core/streaming.js';
export {
  TERMINAL_BATCH_STATUSES,
  isTerminalBatch,
  type BatchEventStream,
  type BatchWaitOptions,
} from './resources/batches.js';
export type { CompletionStream } from './resources/inference.js';
export type * from './types.js';
