import type { RequestOptions } from '../core/http.js';
import type { APIPromise } from '../core/response.js';
import type { UsageParams, UsageReport } from '../types.js';
import { APIResource } from './resource.js';

/** GET /v1/usage: the calling customer's tokens per UTC day and model. */
export class Usage extends APIResource {
  get(params: UsageParams = {}, options?: RequestOptions): APIPromise<UsageReport> {
    return this.client.get('/v1/usage', { ...params }, options);
  }
}
