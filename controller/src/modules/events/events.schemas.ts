import Type from 'typebox';

/** A stored event's id, as `Last-Event-ID` or `lastEventId` carries it. */
const EventId = Type.String({ pattern: '^[0-9]{1,15}$', description: 'The id of the last event received' });

export const EventsHeaders = Type.Object({ 'last-event-id': Type.Optional(EventId) });

export const EventsSocketQuery = Type.Object({
  ticket: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  lastEventId: Type.Optional(EventId),
});

export const IssuedTicket = Type.Object({
  ticket: Type.String({ description: 'Single use; shown once' }),
  expiresAt: Type.String({ format: 'date-time' }),
  websocketPath: Type.String({ description: 'Where the WebSocket connects, with `?ticket=`' }),
});
