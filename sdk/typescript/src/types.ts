// Friendly names for the generated types. They are looked up by operationId rather than by
// component name, so a renamed serializer on the server changes nothing here; a new field in a
// serializer reaches these types through `npm run generate` alone.
import type { components, operations } from './generated/schema.js';

type Schemas = components['schemas'];

/** The JSON request body of an operation. */
export type RequestBody<Op extends keyof operations> = operations[Op]['requestBody'] extends {
  content: { 'application/json': infer Body };
}
  ? Body
  : never;

/** The query parameters of an operation. */
export type QueryParams<Op extends keyof operations> = NonNullable<operations[Op]['parameters']['query']>;

type EnvelopeData<Response> = Response extends { content: { 'application/json': { data: infer Data } } }
  ? Data
  : never;

/** The unwrapped `data` of an operation's success envelope (its 200, or its 201 for a create). */
export type ResponseData<Op extends keyof operations> = operations[Op]['responses'] extends { 200: infer OK }
  ? EnvelopeData<OK>
  : operations[Op]['responses'] extends { 201: infer Created }
    ? EnvelopeData<Created>
    : never;

// `stream` is chosen by the method (complete vs completeStream), not by a flag in the body.
export type CompletionCreateParams = Omit<RequestBody<'completions_create'>, 'stream'>;
export type ChatCompletionCreateParams = Omit<RequestBody<'chat_completions_create'>, 'stream'>;
export type EmbeddingCreateParams = RequestBody<'embeddings_create'>;
export type ModelListParams = QueryParams<'models_list'>;
export type UsageParams = QueryParams<'usage_retrieve'>;

export type Completion = ResponseData<'completions_create'>;
export type ChatCompletion = ResponseData<'chat_completions_create'>;
export type EmbeddingList = ResponseData<'embeddings_create'>;
export type ModelList = ResponseData<'models_list'>;
export type Model = ResponseData<'models_retrieve'>;
export type UsageReport = ResponseData<'usage_retrieve'>;

export type BatchListParams = QueryParams<'batches_list'>;
export type BatchResultsParams = QueryParams<'batches_results'>;

export type Batch = ResponseData<'batches_retrieve'>;
export type BatchList = ResponseData<'batches_list'>;
export type BatchResultList = ResponseData<'batches_results'>;
/** One result: a union keyed by `endpoint`, so `if (result.endpoint === '/v1/embeddings')` narrows
 * `result.response` to that endpoint's answer (`EmbeddingList | null`). */
export type BatchResult = BatchResultList['items'][number];
/** The result of a request to `Endpoint`. */
export type BatchResultOf<Endpoint extends BatchEndpoint> = Extract<BatchResult, { endpoint: Endpoint }>;
export type BatchStatus = Schemas['BatchStatus'];
export type BatchCounts = Schemas['BatchCounts'];
/** The endpoints a batch request may name: the discriminator of the schema's `BatchItemRequest`. */
export type BatchEndpoint = Schemas['BatchItemRequest']['endpoint'];
export type BatchItemStatus = Schemas['BatchItemStatus'];

/** The request body each batch endpoint takes, as it would be sent on its own (without `stream`).
 * Keyed by every `BatchEndpoint`: an endpoint added to the schema fails `tsc` below until it is here. */
export interface BatchRequestBodies {
  '/v1/chat/completions': ChatCompletionCreateParams;
  '/v1/completions': CompletionCreateParams;
  '/v1/embeddings': EmbeddingCreateParams;
}
type Holds<Check extends true> = Check;
type EveryEndpointHasABody = Holds<BatchEndpoint extends keyof BatchRequestBodies ? true : false>;

/** One request of a batch: the schema's per-endpoint variant, its `body` without `stream`. */
export type BatchRequest = {
  [Endpoint in BatchEndpoint]: Omit<Extract<Schemas['BatchItemRequest'], { endpoint: Endpoint }>, 'body'> & {
    body: BatchRequestBodies[Endpoint];
  };
}[BatchEndpoint];

/** `POST /v1/batches`: the generated body, with each request's `body` typed by its endpoint. */
export type BatchCreateParams = Omit<RequestBody<'batches_create'>, 'requests'> & { requests: BatchRequest[] };
type StillTheGeneratedBody = Holds<BatchCreateParams extends RequestBody<'batches_create'> ? true : false>;

export type ChatMessage = Schemas['ChatMessage'];
export type Usage = Schemas['Usage'];
export type StreamChunk = Schemas['StreamChunk'];
export type StreamDone = Schemas['StreamDone'];
export type ErrorCode = Schemas['ErrorCode'];
export type ErrorBody = Schemas['Error'];
export type ErrorEnvelope = Schemas['ErrorEnvelope'];
export type Meta = Schemas['Meta'];

/** What every list endpoint answers (docs/api-contract.md, "Envelope"): a page of items and the cursor of the next. */
export interface Page<Item> {
  items: Item[];
  next_cursor: string | null;
}

export type { components, operations, paths } from './generated/schema.js';
