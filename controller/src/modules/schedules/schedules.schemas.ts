import Type, { type Static } from 'typebox';
import { FacetCounts } from '../../core/facets.js';
import { AllowedAction, PageQuery } from '../../core/pagination.js';
import { NodeId } from '../nodes/index.js';

const DateTime = Type.String({ format: 'date-time' });
const NullableDateTime = Type.Union([DateTime, Type.Null()]);
/** Discord ids are decimal strings (snowflakes exceed 2^53). */
const Snowflake = Type.String({ pattern: '^[0-9]{17,20}$', description: 'A Discord id (decimal string)' });

export const ScheduleParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const ScheduleTarget = Type.Object(
  {
    nodeId: NodeId,
    /** 1-based capture channels to record; omitted: every channel. */
    channels: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1, maximum: 64 }), { minItems: 1, maxItems: 64 }),
    ),
  },
  { additionalProperties: false },
);
export type ScheduleTarget = Static<typeof ScheduleTarget>;

/** A plain format description until settings add named recording profiles. */
export const RecordingProfile = Type.Object(
  {
    format: Type.Literal('wav'),
    /** Omitted: the node's capture rate / channel count. */
    sampleRate: Type.Optional(Type.Enum([8000, 16000, 22050, 32000, 44100, 48000, 88200, 96000])),
    bitDepth: Type.Optional(Type.Literal(16)),
  },
  { additionalProperties: false },
);
export type RecordingProfile = Static<typeof RecordingProfile>;

export const VoiceChannel = Type.Object(
  { guildId: Snowflake, channelId: Snowflake },
  { additionalProperties: false },
);

const scheduleFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  recurrence: Type.String({
    maxLength: 4000,
    description:
      'RFC 5545 lines: at most one RRULE, plus RDATE / EXDATE lines with local times (20270301T090000). ' +
      'Empty: the schedule happens once, at `start`.',
  }),
  timeZone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA zone, e.g. Europe/Berlin' }),
  start: Type.String({
    pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2})?$',
    description: 'The first occurrence as local wall-clock time in timeZone (DTSTART)',
  }),
  durationSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
  preRollSeconds: Type.Integer({ minimum: 0, maximum: 3600 }),
  postRollSeconds: Type.Integer({ minimum: 0, maximum: 3600 }),
  targets: Type.Array(ScheduleTarget, { minItems: 1, maxItems: 100 }),
  profile: RecordingProfile,
  voiceChannel: Type.Union([VoiceChannel, Type.Null()]),
  enabled: Type.Boolean(),
};

export const CreateScheduleBody = Type.Object(
  {
    ...scheduleFields,
    recurrence: Type.Optional(scheduleFields.recurrence),
    preRollSeconds: Type.Optional(scheduleFields.preRollSeconds),
    postRollSeconds: Type.Optional(scheduleFields.postRollSeconds),
    profile: Type.Optional(scheduleFields.profile),
    voiceChannel: Type.Optional(scheduleFields.voiceChannel),
    enabled: Type.Optional(scheduleFields.enabled),
  },
  { additionalProperties: false },
);
export type CreateScheduleBody = Static<typeof CreateScheduleBody>;

export const UpdateScheduleBody = Type.Object(
  Object.fromEntries(Object.entries(scheduleFields).map(([k, v]) => [k, Type.Optional(v)])) as {
    [K in keyof typeof scheduleFields]: ReturnType<typeof Type.Optional<(typeof scheduleFields)[K]>>;
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateScheduleBody = Static<typeof UpdateScheduleBody>;

export const ScheduleSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  recurrence: Type.String(),
  timeZone: Type.String(),
  start: Type.String(),
  durationSeconds: Type.Integer(),
  preRollSeconds: Type.Integer(),
  postRollSeconds: Type.Integer(),
  targets: Type.Array(
    Type.Object({
      nodeId: Type.String(),
      siteId: Type.String(),
      channels: Type.Union([Type.Array(Type.Integer()), Type.Null()]),
    }),
  ),
  profile: RecordingProfile,
  voiceChannel: Type.Union([VoiceChannel, Type.Null()]),
  enabled: Type.Boolean(),
  /** Occurrences skipped with skip-next (their rule instants). */
  skipped: Type.Array(DateTime),
  /** The next occurrence that will record (not skipped), if any. */
  nextOccurrence: NullableDateTime,
  createdBy: Type.Union([Type.String(), Type.Null()]),
  createdAt: DateTime,
  updatedAt: DateTime,
});

export const ScheduleListQuery = Type.Object(
  {
    ...PageQuery,
    nodeId: Type.Optional(NodeId),
    enabled: Type.Optional(Type.Boolean()),
    timeZone: Type.Optional(Type.String({ maxLength: 64 })),
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Text in the name' })),
  },
  { additionalProperties: false },
);
export type ScheduleListQuery = Static<typeof ScheduleListQuery>;
export type ScheduleFilter = Omit<ScheduleListQuery, 'cursor' | 'limit'>;

export const OccurrencesQuery = Type.Object(
  {
    from: Type.Optional(DateTime),
    to: Type.Optional(DateTime),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

export const OccurrenceSchema = Type.Object({
  occurrenceStart: DateTime,
  plannedStartAt: DateTime,
  plannedEndAt: DateTime,
  skipped: Type.Boolean(),
  /** The materialised job on each target node (none yet beyond the horizon). */
  jobs: Type.Array(
    Type.Object({
      nodeId: Type.String(),
      jobId: Type.String(),
      recordingId: Type.String(),
      state: Type.String(),
      part: Type.Integer(),
    }),
  ),
});

export const OccurrencesResult = Type.Object({
  from: DateTime,
  to: DateTime,
  occurrences: Type.Array(OccurrenceSchema),
  /** More occurrences fall in the window than `limit`. */
  truncated: Type.Boolean(),
});

export const SkipBody = Type.Object({ occurrenceStart: DateTime }, { additionalProperties: false });

const Action = AllowedAction;
export const ScheduleActions = Type.Object({
  update: Action,
  delete: Action,
  runNow: Action,
  skipNext: Action,
  unskip: Action,
  pause: Action,
  resume: Action,
});

export const ScheduleFacets = Type.Object({
  total: Type.Integer(),
  enabled: FacetCounts(Type.Boolean()),
  timeZone: FacetCounts(Type.String()),
  nodeId: FacetCounts(Type.String()),
});

export const RunNowResult = Type.Object({
  occurrenceStart: DateTime,
  jobs: Type.Array(Type.Object({ nodeId: Type.String(), jobId: Type.String(), recordingId: Type.String() })),
});
