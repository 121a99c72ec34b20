import type { Readable } from 'node:stream';
import Type, { type Static } from 'typebox';
import { JobStates, RecordingLoudness, UPLOAD_HEADERS } from '../../../../shared/src/agent-api.js';
import { badRequest } from '../../core/errors.js';
import { FacetCounts } from '../../core/facets.js';
import { AllowedAction, PageQuery } from '../../core/pagination.js';
import { NodeId } from '../nodes/index.js';

/** A recording's life mirrors its job's, without the agent-side `claimed` step. */
export const RecordingStates = [
  'pending',
  'recording',
  'uploading',
  'completed',
  'failed',
  'cancelled',
  'lost_contact',
] as const;
export type RecordingState = (typeof RecordingStates)[number];

/** Largest recording the controller accepts in one upload. */
export const MAX_UPLOAD_BYTES = 8 * 1024 ** 3;

export const ObjectId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
const DateTime = Type.String({ format: 'date-time' });
const NullableDateTime = Type.Union([DateTime, Type.Null()]);

export const RecordingParams = Type.Object({ id: ObjectId });
export const JobParams = Type.Object({ jid: ObjectId });
export const NodeJobParams = Type.Object({ id: NodeId });

export const JobSchema = Type.Object({
  id: Type.String(),
  recordingId: Type.String(),
  nodeId: Type.String(),
  state: Type.Enum(JobStates),
  epoch: Type.Integer(),
  leaseExpiresAt: NullableDateTime,
  /** The lease of an active job ran out: the node lost contact (it keeps recording). */
  leaseExpired: Type.Boolean(),
  durationSeconds: Type.Union([Type.Integer(), Type.Null()]),
  stopRequested: Type.Boolean(),
  failureReason: Type.Union([Type.String(), Type.Null()]),
  requestedBy: Type.Union([Type.String(), Type.Null()]),
  /** Set on a schedule's occurrences (null for ad-hoc jobs, or once the schedule is deleted). */
  scheduleId: Type.Union([Type.String(), Type.Null()]),
  occurrenceStart: NullableDateTime,
  plannedStartAt: NullableDateTime,
  plannedEndAt: NullableDateTime,
  /** 1 for the job itself; 2, 3… for parts recorded after an agent restart (parentJobId links them). */
  part: Type.Integer(),
  parentJobId: Type.Union([Type.String(), Type.Null()]),
  createdAt: DateTime,
  claimedAt: NullableDateTime,
  startedAt: NullableDateTime,
  finishedAt: NullableDateTime,
});

export const RecordingSchema = Type.Object({
  id: Type.String(),
  nodeId: Type.String(),
  siteId: Type.String(),
  title: Type.String(),
  state: Type.Enum(RecordingStates),
  sampleRate: Type.Integer(),
  channels: Type.Integer(),
  bitDepth: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Bits per sample, read from the file once it is uploaded (16 or 24)',
  }),
  container: Type.Enum(['wav', 'flac'], { description: 'The file as it arrived: WAV (PCM) or FLAC' }),
  sizeBytes: Type.Union([Type.Integer(), Type.Null()]),
  receivedBytes: Type.Integer(),
  sha256: Type.Union([Type.String(), Type.Null()]),
  durationMs: Type.Union([Type.Integer(), Type.Null()]),
  /** Capture timing: planned start, the first sample's time (agent clock) and the clock offset then. */
  plannedStartAt: NullableDateTime,
  firstSampleAt: NullableDateTime,
  clockOffsetMs: Type.Union([Type.Integer(), Type.Null()]),
  /** Covers only part of its planned window; partialReason says why. */
  partial: Type.Boolean(),
  partialReason: Type.Union([Type.String(), Type.Null()]),
  loudness: Type.Union([RecordingLoudness, Type.Null()], {
    description:
      'Measured by the agent while recording (BS.1770-4 / EBU R128): integrated loudness (LUFS, gated; ' +
      'null when nothing passed the gates), loudness range (LU, EBU Tech 3342) and maximum true peak ' +
      '(dBTP). Null until the agent reports it (with the upload).',
  }),
  /** The library's metadata (PATCH /recordings/:id/metadata). */
  notes: Type.Union([Type.String(), Type.Null()]),
  tags: Type.Array(Type.String()),
  customFields: Type.Record(Type.String(), Type.String()),
  legalHold: Type.Boolean({ description: 'Held recordings are never deleted, by hand or by retention' }),
  createdAt: DateTime,
  completedAt: NullableDateTime,
  job: Type.Union([JobSchema, Type.Null()]),
});

/** A created recording; on a node with a channel map, the first group's, with every group's recording. */
export const CreatedRecording = Type.Object({
  ...RecordingSchema.properties,
  channelGroups: Type.Optional(
    Type.Array(
      Type.Object({ name: Type.String(), channels: Type.Array(Type.Integer()), recordingId: Type.String() }),
      { description: "One recording per group of the node's channel map, recorded side by side" },
    ),
  ),
});

export const CreateRecordingBody = Type.Object(
  {
    nodeId: NodeId,
    /** Omitted: record until stopped. */
    durationSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type CreateRecordingBody = Static<typeof CreateRecordingBody>;

/** The library's site and container filters (the list, its facets and export). */
export const PlaceQuery = {
  siteId: Type.Optional(
    Type.String({ minLength: 1, maxLength: 64, description: "Recordings of this site's nodes" }),
  ),
  container: Type.Optional(Type.Enum(['wav', 'flac'], { description: 'Recordings in this file format' })),
};

/** The library's text search (the list, its facets and export): words in the title or notes. */
export const SearchQuery = {
  q: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'Words in the title or notes, each of them, in any case (at most 8 words)',
    }),
  ),
};

/** The library's time range (the list, its facets and export): by when each recording was created. */
export const CreatedRange = {
  from: Type.Optional({ ...DateTime, description: 'Recordings created at or after this time' }),
  to: Type.Optional({ ...DateTime, description: 'Recordings created before this time (jump to a moment)' }),
};

/** 400 when `from` is after `to`: a range that holds nothing is a mistake, not an empty page. */
export function checkCreatedRange(range: { from?: string; to?: string }): void {
  if (range.from !== undefined && range.to !== undefined && new Date(range.from) > new Date(range.to))
    throw badRequest('from must not be after to');
}

export const RecordingListQuery = Type.Object(
  {
    ...PageQuery,
    nodeId: Type.Optional(NodeId),
    state: Type.Optional(Type.Enum(RecordingStates)),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Recordings with this tag' })),
    ...PlaceQuery,
    ...SearchQuery,
    ...CreatedRange,
  },
  { additionalProperties: false },
);

/** The list's filters as the repository takes them. */
export interface RecordingListFilter {
  nodeId?: string;
  state?: string;
  tag?: string;
  siteId?: string;
  container?: string;
  /** Words in the title or notes (`searchWords`). */
  q?: string;
  from?: string;
  to?: string;
}

/** The recording-jobs list's filters (also those of `GET /recording-jobs/export`). */
export const JobFilters = {
  nodeId: Type.Optional(NodeId),
  state: Type.Optional(Type.Enum(JobStates)),
  site: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "The node's site (name)" })),
  from: Type.Optional({ ...DateTime, description: 'Jobs created at or after this time' }),
  to: Type.Optional({ ...DateTime, description: 'Jobs created before this time' }),
};
export type JobFilter = {
  nodeId?: string;
  state?: string;
  site?: string;
  from?: string;
  to?: string;
};

export const JobListQuery = Type.Object({ ...PageQuery, ...JobFilters }, { additionalProperties: false });
export const JobExportFilters = Type.Object(JobFilters, { additionalProperties: false });
export const JobFacets = Type.Object({
  total: Type.Integer(),
  state: FacetCounts(Type.String()),
  nodeId: FacetCounts(Type.String()),
});

/** What the caller can do with one job now (`GET /recording-jobs/:jid/actions`). */
export const JobActions = Type.Object({
  /** Queue a new attempt of a failed or cancelled job (POST /recording-jobs/:jid/retry). */
  retry: AllowedAction,
  /** Cancel a queued job, or ask the agent to stop a running one (POST /recording-jobs/bulk-stop). */
  stop: AllowedAction,
  /** Download the recording's file (GET /recordings/:id/file). */
  download: AllowedAction,
});

/** Largest selection a bulk job action takes. */
export const MAX_BULK_JOBS = 1000;

export const BulkJobsBody = Type.Object(
  {
    ids: Type.Array(ObjectId, {
      minItems: 1,
      maxItems: MAX_BULK_JOBS,
      uniqueItems: true,
      description: `Job ids (1 to ${MAX_BULK_JOBS}, each once)`,
    }),
  },
  { additionalProperties: false },
);

/** One item of a bulk job action: what happened to it, with the HTTP status it would have had alone. */
export const BulkJobResult = Type.Object({
  id: Type.String(),
  ok: Type.Boolean(),
  status: Type.Integer({ description: '200 done; 404 no such job (or not yours to see); 409 not now' }),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  job: Type.Optional(JobSchema),
});
export const BulkJobResults = Type.Object({
  results: Type.Array(BulkJobResult),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
});

export const UploadHeaders = Type.Object({
  [UPLOAD_HEADERS.epoch]: Type.Integer({ minimum: 1 }),
  [UPLOAD_HEADERS.sha256]: Type.String({ pattern: '^[0-9a-fA-F]{64}$' }),
  [UPLOAD_HEADERS.totalBytes]: Type.Integer({ minimum: 1, maximum: MAX_UPLOAD_BYTES }),
  'content-range': Type.Optional(
    Type.String({
      pattern: '^bytes (\\d{1,15}-\\d{1,15}|\\*)/\\d{1,15}$',
      description:
        'bytes N-(total-1)/total: the rest of the file from byte N; bytes */total with an empty body: ' +
        'complete a file the controller already holds whole',
    }),
  ),
});
export type UploadHeaders = Static<typeof UploadHeaders>;

export const DownloadHeaders = Type.Object({
  range: Type.Optional(
    Type.String({ maxLength: 100, description: 'One range: bytes=a-b, bytes=a- or bytes=-n' }),
  ),
});

/** A streamed file body (the serializer leaves streams alone). */
export const AudioFile = Type.Unsafe<Readable | Buffer>({
  type: 'string',
  format: 'binary',
  description: "audio/wav or audio/flac (the recording's container)",
});
