import Type, { type Static } from 'typebox';
import { PageQuery } from '../../../core/pagination.js';
import { MAX_MEMBER_NAME } from '../members/member-names.service.js';

/** Discord ids are decimal strings (snowflakes exceed 2^53), never numbers in JSON. */
export const SNOWFLAKE_PATTERN = '^[1-9][0-9]{4,19}$';
export const Snowflake = Type.String({
  pattern: SNOWFLAKE_PATTERN,
  description: 'Discord id (decimal string)',
});
const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const PeriodIndex = Type.Integer({ minimum: 0, maximum: 2_147_483_647 });
const Instant = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const GuildParams = Type.Object({ guildId: Snowflake });
export const GuildChannelParams = Type.Object({ guildId: Snowflake, channelId: Snowflake });
export const GuildPeriodParams = Type.Object({ guildId: Snowflake, periodIndex: PeriodIndex });
export const SessionParams = Type.Object({
  sessionId: Type.String({ pattern: UUID_PATTERN, description: 'Voice session id (UUID)' }),
});

export const PassphraseBody = Type.Object(
  {
    passphrase: Type.String({
      minLength: 12,
      maxLength: 1024,
      description: 'Encrypts the private key; never stored nor logged',
    }),
  },
  { additionalProperties: false },
);
export const VerifySessionBody = Type.Object(
  { session_id: SessionParams.properties.sessionId },
  { additionalProperties: false },
);
export const VerifyPeriodBody = Type.Object({ period_index: PeriodIndex }, { additionalProperties: false });

export const Verification = Type.Object({
  valid: Type.Boolean(),
  reason: Type.Optional(Type.String()),
  key_id: Type.Optional(Type.String()),
});

export const GenerateKeysResult = Type.Object({
  key_id: Type.String(),
  public_key: Type.String({ description: 'base64url, raw 32-byte Ed25519 public key' }),
  retired_key_id: Nullable(Type.String()),
  signed_sessions: Type.Integer(),
  signed_periods: Type.Integer(),
});
export const UnlockResult = Type.Object({
  key_id: Type.String(),
  signed_sessions: Type.Integer(),
  signed_periods: Type.Integer(),
});
const SigningState = Type.Object({
  has_key: Type.Boolean(),
  locked: Type.Boolean(),
  key_id: Nullable(Type.String()),
  pending_sessions: Type.Integer(),
  pending_periods: Type.Integer(),
});

export const ResetScheduleBody = Type.Union([
  Type.Object({ kind: Type.Literal('manual') }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('rolling'),
      intervalMs: Type.Integer({ minimum: 60_000, maximum: 366 * 86_400_000 }),
      anchorMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('calendar'),
      unit: Type.Enum(['hour', 'day', 'week', 'month', 'year']),
      timeZone: Type.String({ minLength: 1, maxLength: 64 }),
      weekStartsOn: Type.Optional(Type.Integer({ minimum: 0, maximum: 6, description: '0 = Sunday' })),
      dayOfMonth: Type.Optional(Type.Integer({ minimum: 1, maximum: 31 })),
    },
    { additionalProperties: false },
  ),
]);

const PeriodState = Type.Object({
  index: Type.Integer(),
  started_at: Instant,
  next_reset_at: Nullable(Instant),
  schedule: Type.Unknown(),
});

export const SigningStatus = Type.Object({ ...SigningState.properties, period: PeriodState });

export const PublicKeys = Type.Object({
  algorithm: Type.Literal('Ed25519'),
  active: Nullable(Type.Object({ key_id: Type.String(), public_key: Type.String() })),
  retired: Type.Array(Type.Object({ key_id: Type.String(), public_key: Type.String(), retired_at: Instant })),
});

export const ArchivedPeriod = Type.Object({
  period_index: Type.Integer(),
  started_at: Instant,
  ended_at: Instant,
  signed: Type.Boolean(),
  key_id: Nullable(Type.String()),
  payload_hash: Nullable(Type.String()),
  snapshot: Type.Unknown({ description: 'The period snapshot payload (what is signed)' }),
});
export const HistoryQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  before: Type.Optional(PeriodIndex),
});

export const ScheduleResult = Type.Object({ schedule: Type.Unknown(), next_reset_at: Nullable(Instant) });
export const ResetResult = Type.Object({
  archived_period_index: Type.Integer(),
  period_index: Type.Integer(),
  sessions: Type.Integer(),
  signed: Type.Boolean(),
  reopened_sessions: Type.Integer(),
});

/** The Discord bot's gateway state; `disabled` when no bot token is configured. */
export const BotState = Type.Union([
  Type.Literal('disabled'),
  Type.Literal('stopped'),
  Type.Literal('connecting'),
  Type.Literal('ready'),
  Type.Literal('reconnecting'),
]);
export const CommandUsage = Type.Object({
  command: Type.String(),
  count: Type.Integer(),
  last_at: Instant,
});

export const Overview = Type.Object({
  guild: Type.Object({
    id: Type.String(),
    name: Type.String(),
    time_zone: Type.String(),
    tracking_mode: Type.String(),
    bot_present: Type.Boolean(),
  }),
  period: PeriodState,
  occupancy: Type.Object({ members: Type.Integer(), channels: Type.Integer() }),
  totals: Type.Object({ sessions: Type.Integer(), members: Type.Integer(), active_seconds: Type.Integer() }),
  signing: SigningState,
  /** The live gateway's view: its state, and whether the bot is in this guild now. */
  bot: Type.Object({ state: BotState, present: Type.Boolean() }),
  /** Slash commands answered in this guild, by command. */
  commands: Type.Array(CommandUsage),
});

export const GuildChannels = Type.Object({
  guild_id: Type.String(),
  channels: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      type: Type.String({ description: 'text | voice | stage | category | announcement | forum | other' }),
      parent_id: Nullable(Type.String()),
      position: Type.Integer(),
    }),
  ),
});

export const BotPresence = Type.Object({
  guild_id: Type.String(),
  /** Whether the bot is in the guild now, from the live gateway (false whenever it is not connected). */
  present: Type.Boolean(),
  bot_state: BotState,
  /** Whether a bot token is configured. */
  enabled: Type.Boolean(),
  /** What was last recorded: the bot seen in the guild, and not removed since. */
  last_known_present: Type.Boolean(),
});

/** The name the guild showed for the member when the bot last saw them in voice; null if never seen. */
const MemberDisplayName = Nullable(
  Type.String({ description: "The member's name in the guild when last seen in voice (null: not seen)" }),
);

export const LeaderboardQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});
export const Leaderboard = Type.Object({
  period_index: Type.Integer(),
  entries: Type.Array(
    Type.Object({
      rank: Type.Integer(),
      user_id: Type.String(),
      display_name: MemberDisplayName,
      active_seconds: Type.Integer(),
      sessions: Type.Integer(),
    }),
  ),
  total_members: Type.Integer(),
});

/** At most this many ids in one `GET /guilds/:guildId/members?user_ids=`. */
export const MAX_MEMBER_IDS = 100;
export const MembersQuery = Type.Object({
  user_ids: Type.Optional(
    Type.String({
      pattern: `^[1-9][0-9]{4,19}(,[1-9][0-9]{4,19}){0,${MAX_MEMBER_IDS - 1}}$`,
      description: `Comma-separated Discord ids (at most ${MAX_MEMBER_IDS}): only these members`,
    }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
});
export const MemberNames = Type.Object({
  members: Type.Array(
    Type.Object({
      user_id: Type.String(),
      display_name: Type.String(),
      /** When the bot last wrote the name down (it is refreshed while the member is seen). */
      seen_at: Instant,
    }),
  ),
});

export const UserStatsQuery = Type.Object({ user_id: Snowflake });
export const UserStats = Type.Object({
  user_id: Type.String(),
  display_name: MemberDisplayName,
  period_index: Type.Integer(),
  rank: Nullable(Type.Integer()),
  sessions: Type.Integer(),
  active_seconds: Type.Integer(),
  paused_seconds: Type.Integer(),
  channels: Type.Array(
    Type.Object({ channel_id: Type.String(), active_seconds: Type.Integer(), sessions: Type.Integer() }),
  ),
});

export const ChannelStatsQuery = Type.Object({ channel_id: Type.Optional(Snowflake) });
export const ChannelStats = Type.Object({
  period_index: Type.Integer(),
  channels: Type.Array(
    Type.Object({
      channel_id: Type.String(),
      active_seconds: Type.Integer(),
      sessions: Type.Integer(),
      members: Type.Integer(),
    }),
  ),
});

export const Heatmap = Type.Object({
  period_index: Type.Integer(),
  time_zone: Type.String(),
  weekday_hour_active_seconds: Type.Array(Type.Array(Type.Integer()), {
    description: '[weekday 0 = Sunday … 6][hour 0–23], local to time_zone',
  }),
});

export const LiveOccupancy = Type.Object({
  at: Instant,
  members: Type.Integer(),
  channels: Type.Array(
    Type.Object({
      channel_id: Type.String(),
      members: Type.Array(
        Type.Object({ user_id: Type.String(), active_seconds: Type.Integer(), paused: Type.Boolean() }),
      ),
    }),
  ),
});

export const TrackingModeBody = Type.Object(
  { mode: Type.Enum(['off', 'allowlist', 'denylist', 'all']) },
  { additionalProperties: false },
);
export const TrackedChannels = Type.Object({
  mode: Type.String(),
  afk_channel_id: Nullable(Type.String()),
  channels: Type.Array(Type.Object({ channel_id: Type.String(), added_at: Instant })),
});
export const TrackedChannelBody = Type.Object({ channel_id: Snowflake }, { additionalProperties: false });

export const Fairness = Type.Object({
  pause_on_mute: Type.Boolean(),
  pause_on_deafen: Type.Boolean(),
  pause_when_solo: Type.Boolean(),
  min_session_seconds: Type.Integer({ minimum: 0, maximum: 86_400 }),
});
export const FairnessPatch = Type.Partial(Fairness, { additionalProperties: false, minProperties: 1 });

export const PeriodExport = Type.Unknown({
  description: 'earshot.attendance.period-export v1: snapshot, receipts and keys, verifiable offline',
});

// Public verification and the inbound webhook

export const PublicPeriodParams = GuildPeriodParams;

export const WebhookHeaders = Type.Object({
  'x-webhook-secret': Type.Optional(Type.String({ maxLength: 512 })),
});
export const WebhookEvent = Type.Object(
  {
    guild_id: Snowflake,
    user_id: Snowflake,
    channel_id: Nullable(Snowflake),
    self_mute: Type.Optional(Type.Boolean()),
    server_mute: Type.Optional(Type.Boolean()),
    self_deaf: Type.Optional(Type.Boolean()),
    server_deaf: Type.Optional(Type.Boolean()),
    is_bot: Type.Optional(Type.Boolean()),
    /** The member's name, shown beside their id on the attendance reads. */
    display_name: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_MEMBER_NAME,
        description: "The member's name, to show beside the id",
      }),
    ),
    at: Type.Optional(Instant),
  },
  { additionalProperties: false },
);
export const WebhookResult = Type.Object({
  stored: Type.Integer(),
  open_session_id: Nullable(Type.String()),
});

export type ResetScheduleInput = Static<typeof ResetScheduleBody>;

// Guild registration: a guild a source other than the Discord bot reports attendance for

const GuildName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S', description: 'Display name' });
const TimeZoneName = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'IANA time zone (heatmaps and summaries use it), e.g. Europe/Berlin',
});
export const GuildSchema = Type.Object({
  id: Snowflake,
  name: Type.String(),
  time_zone: Type.String(),
  tracking_mode: Type.String(),
  bot_present: Type.Boolean(),
  period_index: Type.Integer(),
  period_started_at: Instant,
  created_at: Instant,
});
export const RegisterGuildBody = Type.Object(
  {
    id: {
      ...Snowflake,
      description: 'The guild id: a Discord id, or any decimal id of 5-20 digits you choose',
    },
    name: GuildName,
    time_zone: Type.Optional(TimeZoneName),
  },
  { additionalProperties: false },
);
export const UpdateGuildBody = Type.Object(
  { name: Type.Optional(GuildName), time_zone: Type.Optional(TimeZoneName) },
  { additionalProperties: false, minProperties: 1 },
);
export const GuildListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
export type RegisterGuildInput = Static<typeof RegisterGuildBody>;
export type UpdateGuildInput = Static<typeof UpdateGuildBody>;
