import type { Client } from '../client.js';

/** A namespace of the API (`client.models`, …): methods that map one-to-one to endpoints. */
export abstract class APIResource {
  protected readonly client: Client;

  constructor(client: Client) {
    this.client = client;
  }
}
