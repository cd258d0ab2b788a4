// Options are checked at run time too: a typo in plain JavaScript is an error, not a silent default.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client } from '../../src/index.js';

function untyped(options: Record<string, unknown>): never {
  return options as never; // what plain JavaScript can pass
}

const fetchNever = (async () => {
  throw new Error('no request expected');
}) as typeof fetch;

describe('client options', () => {
  test('a misspelled option names the right one', () => {
    assert.throws(() => new Client(untyped({ token: 'ipk_x', baseUrl: 'http://api.test' })), {
      name: 'TypeError',
      message: "Unknown option 'baseUrl'; did you mean 'baseURL'?",
    });
    assert.throws(() => new Client(untyped({ token: 'ipk_x', max_retries: 3 })), {
      message: "Unknown option 'max_retries'; did you mean 'maxRetries'?",
    });
    assert.throws(() => new Client(untyped({ token: 'ipk_x', timout: 5 })), {
      message: "Unknown option 'timout'; did you mean 'timeout'?",
    });
  });

  test('an option unlike any other lists the known ones', () => {
    assert.throws(() => new Client(untyped({ token: 'ipk_x', proxy: 'http://proxy' })), {
      message: "Unknown option 'proxy'; known: 'token', 'baseURL', 'timeout', 'maxRetries', 'fetch', 'defaultHeaders'.",
    });
  });

  test('every known option is accepted, undefined values too', () => {
    const client = new Client({
      token: 'ipk_x',
      baseURL: undefined,
      timeout: 1000,
      maxRetries: 0,
      fetch: fetchNever,
      defaultHeaders: {},
    });
    assert.equal(client.baseURL, 'http://127.0.0.1:8000');
  });
});

describe('request options', () => {
  test('a misspelled request option rejects the call before any request', async () => {
    const client = new Client({ token: 'ipk_x', fetch: fetchNever });

    await assert.rejects(client.models.get('m', untyped({ idempotency_key: 'k' })), {
      name: 'TypeError',
      message: "Unknown request option 'idempotency_key'; did you mean 'idempotencyKey'?",
    });
  });

  test('a misspelled waitFor option too', async () => {
    const client = new Client({ token: 'ipk_x', fetch: fetchNever });

    await assert.rejects(client.batches.waitFor('batch_1', untyped({ timeout: 10 })), {
      message: "Unknown wait option 'timeout'; did you mean 'timeoutMs'?",
    });
  });
});
