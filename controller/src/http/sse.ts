/**
 * Serves a stream as Server-Sent Events on a hijacked reply: the headers Fastify's hooks set
 * (request id, CORS…) kept, proxy buffering off, a comment as keep-alive every `heartbeatMs` so
 * proxies keep the connection, and backpressure: once `maxQueuedBytes` wait in the socket, the
 * next read waits for it to drain (the source holds or drops what arrives meanwhile). Ends when
 * either side closes; `close` runs once the reader is gone or the stream ended.
 */
import { once } from 'node:events';
import type { FastifyReply } from 'fastify';

export interface SseSource {
  /** The next frames, already formatted and joined; undefined when the stream ended. */
  next(): Promise<string | undefined>;
  /** The reader went away, or the stream ended. */
  close(): void;
}

export interface SseOptions {
  /** Written first (comments, `retry:`), e.g. `': meters\n\n'`. */
  opening: string;
  heartbeatMs: number;
  maxQueuedBytes: number;
}

export async function sendSse(reply: FastifyReply, source: SseSource, options: SseOptions): Promise<void> {
  reply.hijack();
  const raw = reply.raw;
  for (const [name, value] of Object.entries(reply.getHeaders()))
    if (value !== undefined) raw.setHeader(name, value);
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.write(options.opening);
  const closed = new AbortController();
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), options.heartbeatMs);
  const onClose = () => {
    closed.abort();
    source.close();
  };
  raw.once('close', onClose);
  try {
    for (;;) {
      const frames = await source.next();
      if (frames === undefined) break;
      raw.write(frames);
      if (raw.writableLength > options.maxQueuedBytes) await once(raw, 'drain', { signal: closed.signal });
    }
  } catch (err) {
    if (!closed.signal.aborted) throw err;
  } finally {
    clearInterval(heartbeat);
    raw.off('close', onClose);
    source.close();
    if (!raw.destroyed) raw.end();
  }
}
