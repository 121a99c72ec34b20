import Type from 'typebox';
import { MAX_METER_STREAM_NODES, MeterNodesList } from '../meters/index.js';

/** A stored event's id, as `Last-Event-ID` or `lastEventId` carries it. */
const EventId = Type.String({ pattern: '^[0-9]{1,15}$', description: 'The id of the last event received' });

export const EventsHeaders = Type.Object({ 'last-event-id': Type.Optional(EventId) });

export const EventsQuery = Type.Object(
  {
    lastEventId: Type.Optional({
      ...EventId,
      description:
        'Resume after this event (for a client that opens a new stream itself; a `Last-Event-ID` header wins)',
    }),
    meters: Type.Optional(
      MeterNodesList(
        `Also carry these nodes' live meter frames (comma-separated, at most ${MAX_METER_STREAM_NODES}; ` +
          'node:read on each, 404 for the whole stream when one is not found or outside your scope)',
      ),
    ),
    meterRate: Type.Optional(
      Type.Integer({
        enum: [1, 10],
        default: 10,
        description:
          'Meter frames per node per second, as `rate` on /meter-events: 10 (every frame) or 1 (folded)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const EventsSocketQuery = Type.Object({
  ticket: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  lastEventId: Type.Optional(EventId),
});

export const IssuedTicket = Type.Object({
  ticket: Type.String({ description: 'Single use; shown once' }),
  expiresAt: Type.String({ format: 'date-time' }),
  websocketPath: Type.String({ description: 'Where the WebSocket connects, with `?ticket=`' }),
});
