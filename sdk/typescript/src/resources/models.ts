import type { RequestOptions } from '../core/http.js';
import { PagePromise } from '../core/pagination.js';
import type { APIPromise } from '../core/response.js';
import type { Model, ModelListParams } from '../types.js';
import { APIResource } from './resource.js';

/** GET /v1/models and GET /v1/models/{model_id}. */
export class Models extends APIResource {
  /** Await for one page; iterate (`for await`) for every model across pages. */
  list(params: ModelListParams = {}, options?: RequestOptions): PagePromise<Model> {
    const { cursor, ...query } = params;
    return new PagePromise(
      (next) => this.client.get('/v1/models', { ...query, cursor: next }, options),
      cursor,
    );
  }

  get(modelId: string, options?: RequestOptions): APIPromise<Model> {
    return this.client.get(`/v1/models/${encodeURIComponent(modelId)}`, undefined, options);
  }
}
