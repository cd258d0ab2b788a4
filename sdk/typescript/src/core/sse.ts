// A minimal Server-Sent Events reader: `event:` and `data:` fields, blank line ends an event,
// lines starting with `:` are comments (the server's `: ping` keep-alives).

export interface ServerSentEvent {
  event: string;
  data: string;
}

/** Yields the events of `body`; `onBytes` runs after every read (pings included), so a caller can
 * tell a silent connection from a slow generation. */
export async function* readEvents(
  body: ReadableStream<Uint8Array>,
  onBytes: () => void = () => {},
): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let pending = emptyEvent();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      onBytes();
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const raw of lines) {
        const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
        if (line !== '') {
          addField(line, pending);
          continue;
        }
        if (pending.data.length > 0) yield { event: pending.event, data: pending.data.join('\n') };
        pending = emptyEvent();
      }
    }
  } finally {
    await reader.cancel().catch(() => {}); // closes the connection when the caller stops early
  }
}

interface PendingEvent {
  event: string;
  data: string[];
}

function emptyEvent(): PendingEvent {
  return { event: 'message', data: [] };
}

function addField(line: string, pending: PendingEvent): void {
  if (line.startsWith(':')) return;
  const colon = line.indexOf(':');
  const field = colon === -1 ? line : line.slice(0, colon);
  const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
  if (field === 'event') pending.event = value;
  else if (field === 'data') pending.data.push(value);
}
