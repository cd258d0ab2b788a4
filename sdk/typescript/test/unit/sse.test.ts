import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readEvents } from '../../src/core/sse.js';

function body(...pieces: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const piece of pieces) controller.enqueue(encoder.encode(piece));
      controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Array<{ event: string; data: string }>> {
  const events = [];
  for await (const event of readEvents(stream)) events.push(event);
  return events;
}

test('events split across reads, CRLF line ends and ping comments', async () => {
  const events = await collect(
    body('event: chunk\r\nda', 'ta: {"a":1}\r\n\r\n: ping\n\n', 'event: done\ndata: {}\n\n'),
  );

  assert.deepEqual(events, [
    { event: 'chunk', data: '{"a":1}' },
    { event: 'done', data: '{}' },
  ]);
});

test('a multi-byte character split between reads survives', async () => {
  const bytes = new TextEncoder().encode('event: chunk\ndata: "é…"\n\n');
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.slice(0, 21));
      controller.enqueue(bytes.slice(21));
      controller.close();
    },
  });

  assert.deepEqual(await collect(stream), [{ event: 'chunk', data: '"é…"' }]);
});

test('multi-line data is joined; an event without data is dropped', async () => {
  const events = await collect(body('event: x\n\ndata: a\ndata: b\n\n'));

  assert.deepEqual(events, [{ event: 'message', data: 'a\nb' }]);
});
