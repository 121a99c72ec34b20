/**
 * TypeBox schemas of a node's audio interfaces: what the operator routes answer and accept.
 * The agent's report is in shared/src/agent-api.ts (InterfaceReport).
 */
import Type, { type Static } from 'typebox';
import { InterfaceKinds } from '../../../../shared/src/agent-api.js';
import { NodeId, NodeSchema } from './nodes.schemas.js';

export const InterfaceParams = Type.Object({
  id: NodeId,
  iid: Type.String({ minLength: 1, maxLength: 64, description: 'Interface id (from GET …/interfaces)' }),
});

export const InterfaceSchema = Type.Object({
  id: Type.String(),
  nodeId: Type.String(),
  ref: Type.String({ description: 'The stable device reference the agent reports' }),
  kind: Type.Enum(InterfaceKinds),
  description: Type.String(),
  channels: Type.Integer(),
  sampleRate: Type.Union([Type.Integer(), Type.Null()]),
  present: Type.Boolean({ description: 'In the agent’s last report; false once the device vanished' }),
  firstSeenAt: Type.String({ format: 'date-time' }),
  lastSeenAt: Type.String({ format: 'date-time' }),
  alias: Type.Union([Type.String(), Type.Null()]),
  enabledChannels: Type.Union([Type.Array(Type.Integer()), Type.Null()], {
    description: '1-based channels in use; null: every channel',
  }),
  channelNames: Type.Array(Type.String()),
});
export type InterfaceView = Static<typeof InterfaceSchema>;

/** GET /nodes/:id: the node and its interfaces (present ones first). */
export const NodeDetailSchema = Type.Object({
  ...NodeSchema.properties,
  interfaces: Type.Array(InterfaceSchema),
});

export const UpdateInterfaceBody = Type.Object(
  {
    alias: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()])),
    enabledChannels: Type.Optional(
      Type.Union([
        Type.Array(Type.Integer({ minimum: 1, maximum: 64 }), {
          minItems: 1,
          maxItems: 64,
          uniqueItems: true,
          description: '1-based channel numbers, each within the interface’s channel count',
        }),
        Type.Null(),
      ]),
    ),
    channelNames: Type.Optional(
      Type.Array(Type.String({ maxLength: 64 }), {
        maxItems: 64,
        description: 'Names of channels 1, 2, …: at most one per channel',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateInterfaceBody = Static<typeof UpdateInterfaceBody>;
