import Type, { type Static } from 'typebox';
import { NODE_ID_PATTERN } from '../../../../shared/src/ids.js';
import { FacetCounts } from '../../core/facets.js';
import { AllowedAction, PageQuery } from '../../core/pagination.js';

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
  headroomHours: Type.Union([Type.Number({ minimum: 0 }), Type.Null()], {
    description:
      "Hours of recording the node's free space holds at its present rate, from its last heartbeat",
  }),
  clockOffsetMs: Type.Union([Type.Integer(), Type.Null()], {
    description:
      "The agent's clock minus the controller's, ms, from its last heartbeat (positive: the agent is ahead)",
  }),
  tags: Type.Array(Type.String()),
  location: Type.Union([Type.String(), Type.Null()]),
  notes: Type.Union([Type.String(), Type.Null()]),
  recordingProfileId: Type.Union([Type.String(), Type.Null()]),
  watchdogPolicyId: Type.Union([Type.String(), Type.Null()]),
  decommissionedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
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

/** The inventory's filters without paging: what its facets count. */
export const NodeFacetsQuery = Type.Object(
  { site: Type.Optional(SiteName) },
  { additionalProperties: false },
);

/** How many nodes the list's filters select, by each field (`GET /nodes/facets`). */
export const NodeFacets = Type.Object({
  total: Type.Integer(),
  site: FacetCounts(Type.String()),
  online: FacetCounts(Type.Boolean()),
  enrolled: FacetCounts(Type.Boolean()),
  decommissioned: FacetCounts(Type.Boolean()),
  captureState: FacetCounts(
    Type.String({ description: "The agent's capture state; `unreported` before one" }),
  ),
});

const Tag = Type.String({ minLength: 1, maxLength: 64, pattern: '^\\S(.*\\S)?$' });

export const UpdateNodeBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    site: Type.Optional(SiteName),
    tags: Type.Optional(
      Type.Array(Tag, {
        maxItems: 32,
        uniqueItems: true,
        description: 'Replaces the tags: at most 32 distinct labels, 1-64 characters, no surrounding spaces',
      }),
    ),
    location: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
    notes: Type.Optional(Type.Union([Type.String({ maxLength: 4000 }), Type.Null()])),
    recordingProfileId: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()], {
        description:
          'The recording profile its agent records with (settings); null: WAV at the capture format',
      }),
    ),
    watchdogPolicyId: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()], {
        description: "The watchdog policy its agent checks (settings); null: the agent's built-in thresholds",
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateNodeBody = Static<typeof UpdateNodeBody>;

const Action = AllowedAction;
export const NodeActions = Type.Object({
  update: Action,
  rotateCredential: Action,
  decommission: Action,
  delete: Action,
  record: Action,
  /** Any lifecycle action (POST /nodes/:id/lifecycle/:action). */
  lifecycle: Action,
});

export const CommandResultEntry = Type.Object({
  id: Type.String(),
  ok: Type.Boolean(),
  message: Type.Union([Type.String(), Type.Null()]),
  receivedAt: Type.String({ format: 'date-time' }),
});
export const CommandResults = Type.Array(CommandResultEntry);
