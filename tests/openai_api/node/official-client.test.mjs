// OpenAI's official Node client, unchanged, against /openai/v1 of the SDK tests' live server
// (scripts/with-sdk-server.sh: BASE_URL, API_TOKEN, the fake models). docs/openai-compatibility.md.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: `${process.env.BASE_URL}/openai/v1`, apiKey: process.env.API_TOKEN });
const messages = [{ role: 'user', content: 'one two three four five' }];

test('chat completion', async () => {
  const completion = await client.chat.completions.create({ model: 'fake-chat', messages });

  assert.equal(completion.object, 'chat.completion');
  assert.equal(completion.choices[0].message.content, 'one two three four five');
  assert.equal(completion.choices[0].finish_reason, 'stop');
  assert.equal(completion.usage.completion_tokens, 5);
});

test('chat stream with usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'fake-chat',
    messages,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.choices.length > 0) text += chunk.choices[0].delta.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }

  assert.equal(text, 'one two three four five');
  assert.equal(usage.completion_tokens, 5);
});

test('embeddings, float and the default base64, agree', async () => {
  const input = ['A cat', 'A kitten'];
  const floats = await client.embeddings.create({ model: 'all-minilm-l6-v2', input, encoding_format: 'float' });
  const byDefault = await client.embeddings.create({ model: 'all-minilm-l6-v2', input });

  assert.equal(floats.data.length, 2);
  assert.equal(floats.data[0].embedding.length, 384);
  for (const [i, item] of byDefault.data.entries()) {
    item.embedding.forEach((value, j) => assert.ok(Math.abs(value - floats.data[i].embedding[j]) < 1e-6));
  }
});

test('an unknown model is a NotFoundError', async () => {
  await assert.rejects(client.models.retrieve('no-such-model'), OpenAI.NotFoundError);
});
