/** Outbound webhook contracts: a guild's webhook settings and its delivery log. */
import Type from 'typebox';
import { PageQuery } from '../../../core/pagination.js';
import { ATTENDANCE_EVENT_TYPES } from '../guilds/attendance-events.js';

const Instant = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const MAX_WEBHOOK_URL_LENGTH = 2048;
const EventType = Type.Enum([...ATTENDANCE_EVENT_TYPES]);

export const WebhookSettings = Type.Object({
  url: Nullable(Type.String({ description: 'Where events are POSTed; null = no webhook' })),
  enabled: Type.Boolean(),
  events: Type.Array(EventType),
  secret: Type.Object({
    set: Type.Boolean(),
    hint: Nullable(Type.String({ description: 'The last 4 characters of the signing secret' })),
  }),
});

/** The PATCH answer: the settings, and the signing secret when this call created it (shown once). */
export const WebhookSettingsChanged = Type.Object({
  ...WebhookSettings.properties,
  signing_secret: Type.Optional(
    Type.String({
      description:
        'Only in the answer that generated it (first URL, or rotate_secret): store it now, it is never shown again',
    }),
  ),
});

export const WebhookSettingsPatch = Type.Object(
  {
    url: Type.Optional(
      Nullable(
        Type.String({
          minLength: 1,
          maxLength: MAX_WEBHOOK_URL_LENGTH,
          description: 'http(s) URL without credentials; null removes the webhook and its secret',
        }),
      ),
    ),
    enabled: Type.Optional(Type.Boolean()),
    events: Type.Optional(
      Type.Array(EventType, { uniqueItems: true, maxItems: ATTENDANCE_EVENT_TYPES.length }),
    ),
    rotate_secret: Type.Optional(
      Type.Boolean({ description: 'Generate a new signing secret (returned once in this answer)' }),
    ),
  },
  { additionalProperties: false },
);

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;

export const WebhookDelivery = Type.Object({
  id: Type.String({ description: 'Also sent as x-earshot-delivery, for idempotency at the receiver' }),
  event: EventType,
  status: Type.Enum([...WEBHOOK_DELIVERY_STATUSES]),
  url: Type.String(),
  attempts: Type.Integer(),
  next_attempt_at: Nullable(Instant),
  last_status: Nullable(Type.Integer({ description: 'HTTP status of the last attempt' })),
  last_error: Nullable(Type.String()),
  created_at: Instant,
  delivered_at: Nullable(Instant),
  body: Type.String({ description: 'The exact JSON body sent and signed' }),
});

export const DeliveriesQuery = Type.Object({
  ...PageQuery,
  status: Type.Optional(Type.Enum([...WEBHOOK_DELIVERY_STATUSES])),
});
