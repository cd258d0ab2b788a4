// Every list endpoint answers `{items, next_cursor}` (docs/api-contract.md, "Envelope"). A
// PagePromise is the first page when awaited and every item of every page when iterated, so callers
// pick either without a second method:
//
//     const page = await client.models.list({ limit: 10 });
//     for await (const model of client.models.list()) { ... }
import type { Page } from '../types.js';
import { APIPromise } from './response.js';

export type PageFetcher<Item> = (cursor: string | undefined) => APIPromise<Page<Item>>;

export class PagePromise<Item> extends APIPromise<Page<Item>> implements AsyncIterable<Item> {
  readonly #fetchPage: PageFetcher<Item>;

  constructor(fetchPage: PageFetcher<Item>, firstCursor?: string) {
    super(fetchPage(firstCursor).withResponse());
    this.#fetchPage = fetchPage;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Item> {
    let page: Page<Item> = await this;
    yield* page.items;
    while (page.next_cursor) {
      page = await this.#fetchPage(page.next_cursor);
      yield* page.items;
    }
  }
}
