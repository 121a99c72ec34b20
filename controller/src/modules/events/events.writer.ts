/**
 * Writes a live events stream to its reader: as Server-Sent Events (`id:`, `event:`, `data:`,
 * with a comment line as keep-alive so proxies keep the connection), or as WebSocket text
 * messages (one JSON object each). Both end when either side closes, or the stream ends.
 */
import type { FastifyReply } from 'fastify';
import { sendSse } from '../../http/sse.js';
import { type MeterFrames, meterEventsChunk } from '../meters/index.js';
import type { LiveEventRow } from './events.repository.js';
import type { LiveStream, Outgoing } from './events.stream.js';

export const EVENTS_HEARTBEAT_MS = 15_000;
/** What may wait in a reader's socket before the stream waits for it to drain. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** A stored event as its reader sees it. */
export function eventView(row: LiveEventRow) {
  return {
    id: row.id,
    type: row.type,
    at: row.at.toISOString(),
    siteId: row.siteId,
    nodeId: row.nodeId,
    subject: { type: row.subjectType, id: row.subjectId },
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}

/** A message's id (the stream position it stands for), event name and data. */
function framed(message: Outgoing): { id?: number; event: string; data: unknown } {
  switch (message.kind) {
    case 'event':
      return { id: message.row.id, event: message.row.type, data: eventView(message.row) };
    case 'ready':
      return { id: message.id, event: 'ready', data: { id: message.id } };
    case 'reset': {
      const { id, lastEventId, oldestId, reason } = message;
      return { id, event: 'reset', data: { id, lastEventId, oldestId, reason } };
    }
    case 'end':
      return { event: 'end', data: { reason: message.reason } };
    case 'notice':
      return { event: message.type, data: { type: message.type, data: message.data } };
  }
}

function sseFrame(message: Outgoing): string {
  const { id, event, data } = framed(message);
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The live meter frames a stream carries beside its events (the meters module's subscription). */
export type MeterFeed = Pick<MeterFrames, 'drain' | 'close'>;

/**
 * Serves `stream` on the reply as Server-Sent Events until either side ends; then `done()`.
 * With `meters`, that subscription's frames are written too, as `event: meter` without an id
 * (they are not stored, so `Last-Event-ID` stays the last stored event's).
 */
export function sendEventsSse(
  reply: FastifyReply,
  stream: LiveStream,
  done: () => void,
  heartbeatMs = EVENTS_HEARTBEAT_MS,
  meters?: MeterFeed,
): Promise<void> {
  const source = {
    next: meters ? interleaved(stream, meters) : async () => sseChunk(await stream.drain()),
    close: () => {
      meters?.close();
      done();
    },
  };
  // A client's EventSource waits `retry` ms before it reconnects (with Last-Event-ID).
  return sendSse(reply, source, {
    opening: ': events\nretry: 2000\n\n',
    heartbeatMs,
    maxQueuedBytes: MAX_BUFFERED_BYTES,
  });
}

const sseChunk = (messages: Outgoing[]) =>
  messages.length === 0 ? undefined : messages.map(sseFrame).join('');

/**
 * The next chunk of either source, whichever has something first (events first when both do);
 * undefined once the events stream ended. A read not yet answered is kept for the next call.
 * Meter frames wait in their subscription's ring (the oldest dropped for a slow reader), never
 * in the events stream's queue, so a fast meter feed cannot end the stream.
 */
function interleaved(stream: LiveStream, meters: MeterFeed): () => Promise<string | undefined> {
  type Read = { from: 'events'; messages: Outgoing[] } | { from: 'meters'; chunk: string | undefined };
  let events: Promise<Read> | undefined;
  let frames: Promise<Read> | undefined;
  let metersOpen = true;
  return async () => {
    for (;;) {
      events ??= stream.drain().then((messages) => ({ from: 'events', messages }));
      if (metersOpen)
        frames ??= meters.drain().then((readings) => ({
          from: 'meters',
          chunk: readings.length === 0 ? undefined : meterEventsChunk(readings),
        }));
      const read = await (frames ? Promise.race([events, frames]) : events);
      if (read.from === 'events') {
        events = undefined;
        return sseChunk(read.messages);
      }
      frames = undefined;
      if (read.chunk !== undefined) return read.chunk;
      metersOpen = false; // the meter feed closed (the controller stops): events go on alone
    }
  };
}

/** The part of a WebSocket the writer uses. */
export interface EventsSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string, callback?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
  ping(): void;
}

const OPEN = 1;
/** WebSocket close codes: the stream ended (its last message says why); the ticket was refused. */
export const EVENTS_CLOSE = { ended: 4000, ticket: 4001 } as const;

/** Serves `stream` on an open WebSocket, one JSON message per event, until either side ends. */
export async function sendEventsWebSocket(
  socket: EventsSocket,
  stream: LiveStream,
  heartbeatMs = EVENTS_HEARTBEAT_MS,
): Promise<void> {
  const heartbeat = setInterval(() => socket.readyState === OPEN && socket.ping(), heartbeatMs);
  try {
    for (;;) {
      const messages = await stream.drain();
      if (messages.length === 0 || socket.readyState !== OPEN) break;
      for (const message of messages) socket.send(JSON.stringify(framed(message)));
      // A reader that lets this much wait is let go: it resumes from the log when it reconnects.
      if (socket.bufferedAmount > MAX_BUFFERED_BYTES * 4) {
        socket.close(EVENTS_CLOSE.ended, 'fell behind; reconnect with lastEventId');
        break;
      }
    }
  } finally {
    clearInterval(heartbeat);
    if (socket.readyState === OPEN) socket.close(EVENTS_CLOSE.ended, 'stream ended');
  }
}
