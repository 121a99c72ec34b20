/**
 * Writes a meter subscription to an HTTP response as Server-Sent Events (`event: meter`,
 * http/sse.ts). While the socket is full, frames wait in the subscription's bounded buffer
 * (which drops the oldest), and are written together once it drains.
 */
import type { FastifyReply } from 'fastify';
import { sendSse } from '../../http/sse.js';
import type { MeterFrames } from './meters.rate.js';
import type { MeterReading } from './meters.store.js';

export const SSE_HEARTBEAT_MS = 15_000;
/** About a second of a 1,000-node fleet's frames. */
export const SSE_MAX_QUEUED_BYTES = 2 * 1024 * 1024;

/** Readings as Server-Sent Events (`event: meter`, no id: frames are not stored), in one string. */
export function meterEventsChunk(readings: readonly Pick<MeterReading, 'toEventData'>[]): string {
  let chunk = '';
  for (const reading of readings) chunk += `event: meter\ndata: ${reading.toEventData()}\n\n`;
  return chunk;
}

export function sendMeterEvents(
  reply: FastifyReply,
  subscription: MeterFrames,
  heartbeatMs = SSE_HEARTBEAT_MS,
): Promise<void> {
  const source = {
    // Everything that arrived since the last write, in one write (a fleet's frames arrive by the
    // thousand a second: a write each would cost a syscall each).
    async next() {
      const readings = await subscription.drain();
      return readings.length === 0 ? undefined : meterEventsChunk(readings);
    },
    close: () => subscription.close(),
  };
  // A client that reads slowly gets up to SSE_MAX_QUEUED_BYTES queued in its socket before the
  // stream waits for it (and frames wait in the subscription's ring, which drops the oldest).
  return sendSse(reply, source, {
    opening: ': meters\n\n',
    heartbeatMs,
    maxQueuedBytes: SSE_MAX_QUEUED_BYTES,
  });
}
