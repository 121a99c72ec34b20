import Type from 'typebox';

export const OpenedPlayback = Type.Object({
  sessionId: Type.String({ description: 'The playback session (named in its audit event)' }),
  ticket: Type.String({
    description:
      'The stream’s credential until expiresAt, for any number of range requests: also set as an ' +
      'HttpOnly cookie whose Path is streamUrl; other clients send it in the X-Earshot-Ticket header',
  }),
  streamUrl: Type.String({
    description: 'GET it (HTTP Range) with the ticket: /api/v1/recordings/{id}/stream',
  }),
  expiresAt: Type.String({ format: 'date-time' }),
  contentType: Type.String({ description: 'audio/wav or audio/flac (the recording’s container)' }),
});

export const StreamHeaders = Type.Object({
  range: Type.Optional(
    Type.String({ maxLength: 100, description: 'One range: bytes=a-b, bytes=a- or bytes=-n' }),
  ),
  'x-earshot-ticket': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'The playback ticket, for clients that do not keep the cookie',
    }),
  ),
});
