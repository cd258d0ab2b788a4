import type { RequestOptions } from '../core/http.js';
import type { APIPromise } from '../core/response.js';
import type { EmbeddingCreateParams, EmbeddingList } from '../types.js';
import { APIResource } from './resource.js';

/** POST /v1/embeddings. */
export class Embeddings extends APIResource {
  create(params: EmbeddingCreateParams, options?: RequestOptions): APIPromise<EmbeddingList> {
    return this.client.post('/v1/embeddings', params, options);
  }
}
