import Type from 'typebox';
import { NODE_ID_PATTERN } from '../../../../shared/src/ids.js';
import { MAX_LISTEN_CHANNELS } from '../../../../shared/src/listen.js';

const NodeId = Type.String({ pattern: NODE_ID_PATTERN, description: 'Node id' });
const SessionId = Type.String({ pattern: '^ls_[A-Za-z0-9_-]{1,32}$', description: 'Listen session id' });

export const ListenParams = Type.Object({ id: NodeId });
export const ListenSessionParams = Type.Object({ id: NodeId, sid: SessionId });

export const OpenListenBody = Type.Object(
  {
    channels: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1, maximum: 64 }), {
        minItems: 1,
        maxItems: MAX_LISTEN_CHANNELS,
        description: '1-based capture channels: one (mono) or two (stereo); default [1]',
      }),
    ),
    bitrate: Type.Optional(
      Type.Integer({ minimum: 6000, maximum: 510_000, description: 'Opus bitrate, bit/s; default 64000' }),
    ),
  },
  { additionalProperties: false },
);

export const ListenSession = Type.Object({
  id: Type.String(),
  nodeId: Type.String(),
  channels: Type.Array(Type.Integer()),
  user: Type.Object({ id: Type.String(), username: Type.String() }),
  state: Type.String({ description: 'pending (waiting for its WebSocket), open or ended' }),
  createdAt: Type.String({ format: 'date-time' }),
  streamId: Type.Union([Type.String(), Type.Null()], {
    description:
      'The agent stream it shares with sessions of the same channels (null until its socket connects)',
  }),
  framesSent: Type.Integer(),
  framesDropped: Type.Integer({ description: 'Frames not sent because this listener fell behind' }),
});

export const OpenedListenSession = Type.Object({
  session: ListenSession,
  ticket: Type.String({ description: 'Single use; present it on the WebSocket before it expires' }),
  ticketExpiresAt: Type.String({ format: 'date-time' }),
  websocketPath: Type.String(),
});
