/** Controller health (`GET /health`), its history and the operational event log (`GET /ops-events`). */
import Type, { type Static } from 'typebox';
import { OPS_EVENT_KINDS, OPS_LEVELS } from '../../core/ops-log.js';
import { PageQuery } from '../../core/pagination.js';

const Count = Type.Integer({ minimum: 0 });
const Time = Type.String({ format: 'date-time' });

/** What the controller itself is doing: fleet-wide facts (the whole fleet's health:read to see them). */
export const ControllerFiguresSchema = Type.Object({
  database: Type.Object({
    provider: Type.String({ description: 'sqlite or postgresql' }),
    reachable: Type.Boolean(),
    latencyMs: Type.Union([Type.Number({ minimum: 0 }), Type.Null()], {
      description: 'One SELECT 1 round trip',
    }),
  }),
  broker: Type.Object({
    listening: Type.Boolean(),
    port: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
    clients: Count,
  }),
  discordBot: Type.Object({
    enabled: Type.Boolean({ description: 'Whether a bot token is configured' }),
    state: Type.String({ description: 'stopped, connecting, ready or reconnecting' }),
  }),
  queues: Type.Union(
    [
      Type.Object({
        recordingJobs: Type.Object({ queued: Count, active: Count }),
        uploadQueue: Type.Object({ queued: Count, uploading: Count, failed: Count }),
        /** The attendance outbound webhooks' outbox. */
        webhookDeliveriesPending: Count,
        /** The notification integrations' outbox. */
        notificationDeliveriesPending: Count,
      }),
      Type.Null(),
    ],
    { description: 'null when the database could not be read' },
  ),
  disk: Type.Union(
    [
      Type.Object({
        freeBytes: Count,
        totalBytes: Count,
        headroomHours: Type.Union([Type.Number({ minimum: 0 }), Type.Null()], {
          description: 'Hours until full at the last hour’s ingest rate; null while nothing arrives',
        }),
        readAt: Time,
      }),
      Type.Null(),
    ],
    { description: 'The data directory’s disk; null before the first reading' },
  ),
});
export type ControllerFigures = Static<typeof ControllerFiguresSchema>;

const NodeCounts = Type.Object({ total: Count, online: Count });

export const HealthSchema = Type.Object({
  version: Type.String(),
  instanceId: Type.String({ description: 'This replica' }),
  startedAt: Time,
  uptimeSeconds: Count,
  at: Time,
  /** In the caller's scope. */
  nodes: NodeCounts,
  controller: Type.Union([ControllerFiguresSchema, Type.Null()], {
    description: 'Controller-wide figures; null unless the caller holds health:read over the whole fleet',
  }),
});
export type Health = Static<typeof HealthSchema>;

export const HealthSampleSchema = Type.Object({
  minute: Time,
  takenAt: Time,
  instanceId: Type.String(),
  nodes: NodeCounts,
  controller: ControllerFiguresSchema,
});
export type HealthSampleView = Static<typeof HealthSampleSchema>;

export const HistoryQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time', description: 'First minute (inclusive)' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Last minute (inclusive)' })),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type HistoryQuery = Static<typeof HistoryQuery>;

const Kind = Type.Enum([...OPS_EVENT_KINDS]);
const Level = Type.Enum([...OPS_LEVELS]);

export const OpsEventSchema = Type.Object({
  id: Type.String(),
  at: Time,
  kind: Kind,
  level: Level,
  instanceId: Type.String(),
  message: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown()),
});
export type OpsEventView = Static<typeof OpsEventSchema>;

export const OpsEventQuery = Type.Object(
  {
    kind: Type.Optional(Kind),
    /** This level or worse: `warning` lists warnings and errors. */
    level: Type.Optional(Level),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    until: Type.Optional(Type.String({ format: 'date-time' })),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type OpsEventQuery = Static<typeof OpsEventQuery>;
