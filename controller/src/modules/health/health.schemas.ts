/** TypeBox schemas of the health-event routes: validation, response shapes, OpenAPI. */
import Type, { type Static } from 'typebox';
import {
  HEALTH_EVENT_TYPES,
  HEALTH_SEVERITIES,
  HealthEventId,
  HealthValues,
} from '../../../../shared/src/mqtt.js';
import { FacetCounts } from '../../core/facets.js';
import { AllowedAction, PageQuery } from '../../core/pagination.js';
import { NodeId } from '../nodes/index.js';

const DateTime = Type.String({ format: 'date-time' });
const NullableDateTime = Type.Union([DateTime, Type.Null()]);

export const HEALTH_STATUSES = ['open', 'acknowledged', 'suppressed', 'resolved'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];
export const LIFECYCLE_ACTIONS = ['acknowledge', 'suppress', 'resolve', 'reopen'] as const;
export type LifecycleAction = (typeof LIFECYCLE_ACTIONS)[number];

export const HealthEventParams = Type.Object({ id: HealthEventId });

export const HealthEventSchema = Type.Object({
  id: Type.String(),
  /** Null for a condition of the controller itself (audit_chain): seen with fleet-wide access only. */
  nodeId: Type.Union([Type.String(), Type.Null()]),
  siteId: Type.Union([Type.String(), Type.Null()]),
  type: Type.String(),
  severity: Type.String(),
  /** Now: a suppression whose time has passed reads as open. */
  status: Type.Enum(HEALTH_STATUSES),
  channel: Type.Union([Type.Integer(), Type.Null()]),
  message: Type.String(),
  values: Type.Record(Type.String(), Type.Unknown()),
  firstSeenAt: DateTime,
  lastSeenAt: DateTime,
  count: Type.Integer(),
  resolvedAt: NullableDateTime,
  suppressedUntil: NullableDateTime,
  acknowledgedBy: Type.Union([Type.String(), Type.Null()]),
  acknowledgedAt: NullableDateTime,
  source: Type.String(),
  createdAt: DateTime,
  updatedAt: DateTime,
});
export type HealthEventView = Static<typeof HealthEventSchema>;

export const HealthListQuery = Type.Object(
  {
    ...PageQuery,
    nodeId: Type.Optional(NodeId),
    site: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Site name' })),
    type: Type.Optional(Type.Enum(HEALTH_EVENT_TYPES)),
    severity: Type.Optional(Type.Enum(HEALTH_SEVERITIES)),
    status: Type.Optional(Type.Enum(HEALTH_STATUSES)),
    from: Type.Optional({ ...DateTime, description: 'Events last seen at or after this time' }),
    to: Type.Optional({ ...DateTime, description: 'Events first seen at or before this time' }),
  },
  { additionalProperties: false },
);
export type HealthFilter = Omit<Static<typeof HealthListQuery>, 'cursor' | 'limit'>;

export const HealthFacets = Type.Object({
  total: Type.Integer(),
  status: FacetCounts(Type.String()),
  severity: FacetCounts(Type.String()),
  type: FacetCounts(Type.String()),
  nodeId: FacetCounts(Type.String()),
});

export const HealthActions = Type.Object({
  acknowledge: AllowedAction,
  suppress: AllowedAction,
  resolve: AllowedAction,
  reopen: AllowedAction,
});

export const CreateHealthEventBody = Type.Object(
  {
    nodeId: NodeId,
    type: Type.Optional(Type.Enum(HEALTH_EVENT_TYPES, { default: 'manual' })),
    severity: Type.Enum(HEALTH_SEVERITIES),
    channel: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 64 }), Type.Null()])),
    message: Type.String({ minLength: 1, maxLength: 1000 }),
    values: Type.Optional(HealthValues),
  },
  { additionalProperties: false },
);
export type CreateHealthEventBody = Static<typeof CreateHealthEventBody>;

const Reason = Type.String({ minLength: 1, maxLength: 500, description: 'Kept in the audit trail' });
export const TransitionBody = Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false });
export const SuppressBody = Type.Object(
  {
    until: { ...DateTime, description: 'In the future, at most 90 days ahead' },
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);
export type TransitionInput = { until?: string; reason?: string };

export const BulkLifecycleBody = Type.Object(
  {
    ids: Type.Array(HealthEventId, { minItems: 1, maxItems: 200, uniqueItems: true }),
    action: Type.Enum(LIFECYCLE_ACTIONS),
    until: Type.Optional({ ...DateTime, description: 'For suppress' }),
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);
export type BulkLifecycleBody = Static<typeof BulkLifecycleBody>;

export const BulkLifecycleResult = Type.Object({
  action: Type.Enum(LIFECYCLE_ACTIONS),
  events: Type.Array(HealthEventSchema),
});
