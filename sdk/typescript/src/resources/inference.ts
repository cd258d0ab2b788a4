import type { RequestOptions } from '../core/http.js';
import type { APIPromise } from '../core/response.js';
import type { Stream } from '../core/streaming.js';
import type {
  ChatCompletion,
  ChatCompletionCreateParams,
  Completion,
  CompletionCreateParams,
  StreamChunk,
  StreamDone,
} from '../types.js';
import { APIResource } from './resource.js';

/** A streamed completion: iterate for the chunks, `await stream.final()` for finish reason and usage. */
export type CompletionStream = Stream<StreamChunk, StreamDone>;

/** Text generation: POST /v1/completions and POST /v1/chat/completions. */
export class Inference extends APIResource {
  complete(params: CompletionCreateParams, options?: RequestOptions): APIPromise<Completion> {
    return this.client.post('/v1/completions', { ...params, stream: false }, options);
  }

  completeStream(params: CompletionCreateParams, options?: RequestOptions): APIPromise<CompletionStream> {
    return this.client.postStream('/v1/completions', { ...params, stream: true }, options);
  }

  chat(params: ChatCompletionCreateParams, options?: RequestOptions): APIPromise<ChatCompletion> {
    return this.client.post('/v1/chat/completions', { ...params, stream: false }, options);
  }

  chatStream(params: ChatCompletionCreateParams, options?: RequestOptions): APIPromise<CompletionStream> {
    return this.client.postStream('/v1/chat/completions', { ...params, stream: true }, options);
  }
}
