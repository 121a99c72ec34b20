/** Notification integrations' API contracts (TypeBox): validation, answers, OpenAPI. */
import Type, { type Static } from 'typebox';
import { HEALTH_EVENT_TYPES, HEALTH_SEVERITIES } from '../../../../shared/src/mqtt.js';
import {
  INTEGRATION_KINDS,
  MAX_QUIET_SECONDS,
  MAX_URL_LENGTH,
  NOTIFICATION_EVENTS,
} from '../../../../shared/src/notification-kinds.js';
import { AllowedAction, PageQuery } from '../../core/pagination.js';

export {
  DEFAULT_QUIET_SECONDS,
  INTEGRATION_KINDS,
  type IntegrationKind,
  MAX_QUIET_SECONDS,
  MAX_URL_LENGTH,
  NOTIFICATION_EVENTS,
  type NotificationEvent,
} from '../../../../shared/src/notification-kinds.js';
export const INTEGRATION_STATUSES = ['draft', 'enabled', 'disabled'] as const;
export type IntegrationStatus = (typeof INTEGRATION_STATUSES)[number];

const Id = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
export const IntegrationParams = Type.Object({ id: Id });

export const RoutingRules = Type.Object(
  {
    events: Type.Array(Type.Enum(NOTIFICATION_EVENTS), {
      uniqueItems: true,
      maxItems: NOTIFICATION_EVENTS.length,
      description: 'Which changes are sent; health.resolved and node.online only after a sent opening',
    }),
    healthTypes: Type.Union(
      [Type.Array(Type.Enum(HEALTH_EVENT_TYPES), { uniqueItems: true, maxItems: 32 }), Type.Null()],
      {
        description: 'Health event types sent (null: every type)',
      },
    ),
    severities: Type.Array(Type.Enum(HEALTH_SEVERITIES), {
      uniqueItems: true,
      maxItems: 3,
      description: 'Health event severities sent',
    }),
    siteIds: Type.Union([Type.Array(Id, { uniqueItems: true, maxItems: 100 }), Type.Null()], {
      description: 'Only changes on nodes of these sites (null: the whole fleet, fleet-wide events too)',
    }),
  },
  { additionalProperties: false },
);
export type RoutingRules = Static<typeof RoutingRules>;

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
const Url = Type.String({ minLength: 1, maxLength: MAX_URL_LENGTH });
const Secret = Type.String({ minLength: 1, maxLength: 200, description: "Feishu: the bot's signing secret" });
const Quiet = Type.Integer({
  minimum: 0,
  maximum: MAX_QUIET_SECONDS,
  description: 'Openings of one condition within this many seconds of the last one sent send nothing',
});

export const CreateIntegrationBody = Type.Object(
  {
    name: Name,
    kind: Type.Enum(INTEGRATION_KINDS),
    url: Url,
    secret: Type.Optional(Secret),
    rules: Type.Optional(RoutingRules),
    quietSeconds: Type.Optional(Quiet),
  },
  { additionalProperties: false },
);
export type CreateIntegrationBody = Static<typeof CreateIntegrationBody>;

export const UpdateIntegrationBody = Type.Object(
  {
    name: Type.Optional(Name),
    url: Type.Optional(Url),
    rules: Type.Optional(RoutingRules),
    quietSeconds: Type.Optional(Quiet),
  },
  { additionalProperties: false },
);
export type UpdateIntegrationBody = Static<typeof UpdateIntegrationBody>;

export const RotateSecretBody = Type.Object(
  { secret: Type.Optional(Secret) },
  {
    additionalProperties: false,
    description: 'webhook: a new secret is generated; feishu: give the new one',
  },
);
export type RotateSecretBody = Static<typeof RotateSecretBody>;

const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);

export const Verification = Type.Object({
  ok: Type.Boolean(),
  at: Time,
  status: Type.Union([Type.Integer(), Type.Null()], { description: "The receiver's HTTP status" }),
  error: Type.Union([Type.String(), Type.Null()]),
  durationMs: Type.Integer(),
});

export const IntegrationSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.Enum(INTEGRATION_KINDS),
  status: Type.Enum(INTEGRATION_STATUSES),
  url: Type.String({
    description: 'Its origin and last characters only: a chat webhook URL is a credential',
  }),
  secret: Type.Object({ set: Type.Boolean(), hint: Type.Union([Type.String(), Type.Null()]) }),
  rules: RoutingRules,
  quietSeconds: Type.Integer(),
  verifiedAt: NullableTime,
  lastVerification: Type.Union([Verification, Type.Null()]),
  createdAt: Time,
  updatedAt: Time,
});
export type IntegrationView = Static<typeof IntegrationSchema>;

/** A create or rotation of a generic webhook: the signing secret, shown this once. */
/** What may be done to an integration now, and why not when not (`GET /integrations/:id/actions`). */
export const IntegrationActions = Type.Object({
  update: AllowedAction,
  delete: AllowedAction,
  verify: AllowedAction,
  enable: AllowedAction,
  disable: AllowedAction,
  rotateSecret: AllowedAction,
});

export const IntegrationWithSecret = Type.Intersect([
  IntegrationSchema,
  Type.Object({ signingSecret: Type.Optional(Type.String({ description: 'Shown once' })) }),
]);

export const DeliverySchema = Type.Object({
  id: Type.String(),
  event: Type.String(),
  status: Type.Enum(['pending', 'delivered', 'failed']),
  attempts: Type.Integer(),
  nextAttemptAt: NullableTime,
  lastStatus: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  createdAt: Time,
  deliveredAt: NullableTime,
  body: Type.String({ description: 'The message as stored (Feishu adds timestamp and sign per attempt)' }),
});

export const DeliveriesQuery = Type.Object(
  { ...PageQuery, status: Type.Optional(Type.Enum(['pending', 'delivered', 'failed'])) },
  { additionalProperties: false },
);
