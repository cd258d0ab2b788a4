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

/** The unwrapped `data` of an operation's 200 envelope. */
export type ResponseData<Op extends keyof operations> = operations[Op]['responses'] extends {
  200: { content: { 'application/json': { data: infer Data } } };
}
  ? Data
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

export type ChatMessage = Schemas['ChatMessage'];
export type Usage = Schemas['Usage'];
export type StreamChunk = Schemas['StreamChunk'];
export type StreamDone = Schemas['StreamDone'];
export type ErrorCode = Schemas['ErrorCode'];
export type ErrorBody = Schemas['Error'];
export type ErrorEnvelope = Schemas['ErrorEnvelope'];
export type Meta = Schemas['Meta'];

/** What every list endpoint answers (DESIGN §3.1): a page of items and the cursor of the next. */
export interface Page<Item> {
  items: Item[];
  next_cursor: string | null;
}

export type { components, operations, paths } from './generated/schema.js';
