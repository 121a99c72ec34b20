/**
 * Schemas for what a guild connects attendance to: its plan, log destinations and
 * verified roles. Kept apart from attendance.schemas.ts, which holds
 * the tracking, stats and signing contracts.
 */
import Type from 'typebox';
import { Snowflake } from '../guilds/attendance.schemas.js';

const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const Uuid = (description: string) => Type.String({ pattern: UUID_PATTERN, description });
const Instant = Type.String({ format: 'date-time' });
const Tier = Type.Enum(['free', 'pro']);

// Subscription

export const Subscription = Type.Object({
  guild_id: Type.String(),
  tier: Tier,
  features: Type.Array(
    Type.Object({
      feature: Type.String(),
      name: Type.String(),
      required_tier: Tier,
      available: Type.Boolean(),
    }),
  ),
});
export const SubscriptionBody = Type.Object({ tier: Tier }, { additionalProperties: false });

// Log destinations

export const LOG_TYPES = ['sessions', 'periods', 'summary'] as const;
export const SUMMARY_FREQUENCIES = ['off', 'hourly', 'daily', 'weekly'] as const;
const LogType = Type.Enum([...LOG_TYPES], {
  description:
    'sessions: one post per completed session; periods: one per archived period; summary: the periodic leaderboard',
});
const Frequency = Type.Enum([...SUMMARY_FREQUENCIES], {
  description: 'How often the summary is posted, aligned to the guild time zone calendar',
});

export const LogDestinationParams = Type.Object({
  guildId: Snowflake,
  destinationId: Uuid('Log destination id'),
});
export const LogDestination = Type.Object({
  id: Type.String(),
  channel_id: Type.String(),
  log_types: Type.Array(LogType),
  frequency: Frequency,
  last_summary_at: Type.Union([Instant, Type.Null()]),
  created_at: Instant,
});
export const LogDestinationBody = Type.Object(
  {
    channel_id: Snowflake,
    log_types: Type.Optional(Type.Array(LogType, { maxItems: LOG_TYPES.length, uniqueItems: true })),
    frequency: Type.Optional(Frequency),
  },
  { additionalProperties: false },
);
export const LogTypeBody = Type.Object(
  { log_type: LogType, enabled: Type.Boolean() },
  { additionalProperties: false },
);
export const FrequencyBody = Type.Object({ frequency: Frequency }, { additionalProperties: false });

// Verified roles

export const VerifiedRuleParams = Type.Object({ guildId: Snowflake, ruleId: Uuid('Verified role rule id') });
export const VerifiedRole = Type.Object({
  id: Type.String(),
  role_id: Type.String(),
  threshold_seconds: Type.Integer(),
  created_at: Instant,
  updated_at: Instant,
});
export const VerifiedRoleBody = Type.Object(
  {
    role_id: Snowflake,
    threshold_seconds: Type.Integer({
      minimum: 1,
      maximum: 366 * 86_400,
      description: 'Active time in one period after which the role is granted',
    }),
  },
  { additionalProperties: false },
);
