import Type from 'typebox';
import { NODE_ID_PATTERN } from '../../../../shared/src/ids.js';
import { PageQuery } from '../../core/pagination.js';

export const NodeId = Type.String({
  pattern: NODE_ID_PATTERN,
  description: 'Node id: letters, digits, _ and -',
});
export const NodeParams = Type.Object({ id: NodeId });

export const NodeSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  site: Type.Object({ id: Type.String(), name: Type.String() }),
  enrolled: Type.Boolean(),
  credentialHint: Type.Union([Type.String(), Type.Null()]),
  presence: Type.Object({
    online: Type.Boolean(),
    lastSeenAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  }),
  agentVersion: Type.Union([Type.String(), Type.Null()]),
  capture: Type.Object({
    device: Type.String(),
    state: Type.Union([Type.String(), Type.Null()]),
    sampleRate: Type.Integer(),
    channels: Type.Integer(),
  }),
  diskFreeBytes: Type.Union([Type.Integer(), Type.Null()]),
  clockOffsetMs: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

const SiteName = Type.String({ minLength: 1, maxLength: 100 });

export const EnrollBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    site: SiteName,
    id: Type.Optional(NodeId),
    captureDevice: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    sampleRate: Type.Optional(Type.Integer({ minimum: 8000, maximum: 192000 })),
    channels: Type.Optional(Type.Integer({ minimum: 1, maximum: 32 })),
  },
  { additionalProperties: false },
);

export const EnrollResult = Type.Object({
  node: NodeSchema,
  enrollmentToken: Type.String({ description: 'Shown once. Give it to `earshot-agent enroll --token`.' }),
  expiresAt: Type.String({ format: 'date-time' }),
});

export const RotateResult = Type.Object({
  node: NodeSchema,
  credential: Type.String({ description: 'Shown once; the previous credential stops working now.' }),
});

export const NodeListQuery = Type.Object(
  {
    ...PageQuery,
    site: Type.Optional(SiteName),
  },
  { additionalProperties: false },
);
