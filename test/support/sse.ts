/** Minimal Server-Sent Events readers over fetch, for tests. */
import type { MeterFrame } from '../../shared/src/mqtt.js';

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export async function readSse(
  url: string,
  headers: Record<string, string>,
  onEvent: (event: SseEvent) => boolean | undefined,
  timeoutMs = 30_000,
): Promise<void> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(url, {
      headers: { accept: 'text/event-stream', ...headers },
      signal: controller.signal,
    });
    if (!response.ok || !response.body)
      throw new Error(`SSE ${url}: HTTP ${response.status} ${await response.text()}`);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: SseEvent = { event: 'message', data: '' };
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event.event = line.slice(6).trim();
          else if (line.startsWith('data:'))
            event.data += (event.data ? '\n' : '') + line.slice(5).trimStart();
          else if (line.startsWith('id:')) event.id = line.slice(3).trim();
        }
        if (block.trim() && !block.startsWith(':') && onEvent(event) === true) return;
        end = buffer.indexOf('\n\n');
      }
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/** An open SSE response: its events one at a time (the subscription exists once it answered). */
export async function openSse(url: string, headers: Record<string, string>) {
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  if (!response.ok || !response.body) throw new Error(`SSE ${url}: HTTP ${response.status}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    async next(): Promise<SseEvent> {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith(':')) continue;
          const event: SseEvent = { event: 'message', data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event.event = line.slice(6).trim();
            else if (line.startsWith('data:')) event.data += line.slice(5).trimStart();
            else if (line.startsWith('id:')) event.id = line.slice(3).trim();
          }
          return event;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        buffer += decoder.decode(value, { stream: true });
      }
    },
    /** The next meter event's node and frame (any other event first fails the test). */
    async meter(): Promise<{ nodeId: string; frame: MeterFrame }> {
      const event = await this.next();
      if (event.event !== 'meter') throw new Error(`expected a meter event, got ${JSON.stringify(event)}`);
      return JSON.parse(event.data);
    },
    close: () => abort.abort(),
  };
}
