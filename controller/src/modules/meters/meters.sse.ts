/**
 * Writes a meter subscription to an HTTP response as Server-Sent Events
 * (`event: meter`), with a comment heartbeat so proxies keep the connection open.
 * Honours backpressure: while the socket is full, frames wait in the subscription's
 * bounded buffer (which drops the oldest), and are written together once it drains. Ends
 * when either side closes.
 */
import { once } from 'node:events';
import type { FastifyReply } from 'fastify';
import type { MeterSubscription } from './meters.store.js';

export const SSE_HEARTBEAT_MS = 15_000;
/** About a second of a 1,000-node fleet's frames. */
export const SSE_MAX_QUEUED_BYTES = 2 * 1024 * 1024;

export async function sendMeterEvents(
  reply: FastifyReply,
  subscription: MeterSubscription,
  heartbeatMs = SSE_HEARTBEAT_MS,
): Promise<void> {
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
  raw.write(': meters\n\n');

  const closed = new AbortController();
  const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), heartbeatMs);
  const onClose = () => {
    closed.abort();
    subscription.close();
  };
  raw.once('close', onClose);
  try {
    for (;;) {
      // Everything that arrived since the last write, in one write (a fleet's frames arrive by the
      // thousand a second: a write each would cost a syscall each).
      const readings = await subscription.drain();
      if (readings.length === 0) break;
      let chunk = '';
      for (const reading of readings) chunk += `event: meter\ndata: ${reading.toEventData()}\n\n`;
      raw.write(chunk);
      // A client that reads slowly gets up to this much queued in its socket before the stream
      // waits for it (and frames wait in the subscription's ring, which drops the oldest).
      if (raw.writableLength > SSE_MAX_QUEUED_BYTES) await once(raw, 'drain', { signal: closed.signal });
    }
  } catch (err) {
    if (!closed.signal.aborted) throw err;
  } finally {
    clearInterval(heartbeat);
    raw.off('close', onClose);
    subscription.close();
    if (!raw.destroyed) raw.end();
  }
}
