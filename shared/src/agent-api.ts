/**
 * The HTTP contract between agent and controller (agent service routes). The
 * controller uses these schemas on its routes; the agent uses the types (and may
 * validate responses with them).
 *
 * Authentication: `Authorization: Bearer <node credential>`; a node credential is
 * `<nodeId>.<secret>` (see `parseNodeCredential`). An enrollment token has the
 * same shape and is exchanged once for the credential.
 */
import Type, { type Static } from 'typebox';
import { NODE_ID_PATTERN } from './ids.js';

export const API_PREFIX = '/api/v1';

/** Headers of the resumable cache-file upload (PUT /recordings/:id/cache-file). */
export const UPLOAD_HEADERS = {
  epoch: 'x-earshot-epoch',
  sha256: 'x-earshot-sha256',
  totalBytes: 'x-earshot-total-bytes',
} as const;

export function formatNodeCredential(nodeId: string, secret: string): string {
  return `${nodeId}.${secret}`;
}

export function parseNodeCredential(value: string): { nodeId: string; secret: string } | undefined {
  const dot = value.indexOf('.');
  if (dot <= 0) return undefined;
  const nodeId = value.slice(0, dot);
  const secret = value.slice(dot + 1);
  if (!new RegExp(NODE_ID_PATTERN).test(nodeId) || !/^[A-Za-z0-9_-]{16,128}$/.test(secret)) return undefined;
  return { nodeId, secret };
}

export const EnrollExchangeBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);
export type EnrollExchangeBody = Static<typeof EnrollExchangeBody>;

export const EnrollExchangeResult = Type.Object({
  nodeId: Type.String(),
  name: Type.String(),
  siteId: Type.String(),
  /** Shown once; the controller keeps only a hash. */
  credential: Type.String(),
  mqttPort: Type.Integer(),
});
export type EnrollExchangeResult = Static<typeof EnrollExchangeResult>;

export const CaptureConfig = Type.Object({
  device: Type.String(),
  sampleRate: Type.Integer(),
  channels: Type.Integer(),
  /** Bits per sample the capture runs at (the recording profile's); absent (older controllers): 16. */
  bitDepth: Type.Optional(Type.Integer()),
  /**
   * The channels an operator enabled on the capture device's interface (1-based); null or
   * absent: every channel. A recording with no selection of its own keeps these.
   */
  enabledChannels: Type.Optional(Type.Union([Type.Array(Type.Integer({ minimum: 1 })), Type.Null()])),
});

/**
 * The recording profile a node uses (a settings object, resolved by the controller): how the
 * agent writes each recording. The capture runs at its sample rate.
 */
export const RecordingProfileConfig = Type.Object({
  id: Type.String(),
  name: Type.String(),
  revision: Type.Integer(),
  container: Type.Enum(['wav', 'flac']),
  sampleRate: Type.Integer(),
  bitDepth: Type.Integer(),
  /** The first N capture channels; null: all. */
  channels: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
  /** 1-based capture channels in file order (instead of channels); null: none. */
  channelMap: Type.Union([Type.Array(Type.Integer({ minimum: 1 })), Type.Null()]),
  segmentSeconds: Type.Union([Type.Integer(), Type.Null()]),
  preRollSeconds: Type.Integer(),
  postRollSeconds: Type.Integer(),
});
export type RecordingProfileConfig = Static<typeof RecordingProfileConfig>;

/** The watchdog policy a node uses (a settings object): thresholds its watchdog checks. */
export const WatchdogPolicyConfig = Type.Object({
  id: Type.String(),
  name: Type.String(),
  revision: Type.Integer(),
  silenceDbfs: Type.Number(),
  silenceSeconds: Type.Integer(),
  clipCountPerWindow: Type.Integer(),
  clipWindowSeconds: Type.Integer(),
  diskLowPercent: Type.Integer(),
  diskLowHours: Type.Number(),
  clockSkewSeconds: Type.Number(),
  uploadBacklogMinutes: Type.Integer(),
});
export type WatchdogPolicyConfig = Static<typeof WatchdogPolicyConfig>;

/**
 * An agent-cache retention policy (a settings object of scope `agent-cache`), as every agent
 * applies it to its cache: copies the controller confirmed are kept until a limit is reached,
 * then removed oldest first. A null limit is not checked.
 */
export const CacheRetentionPolicy = Type.Object({
  id: Type.String(),
  name: Type.String(),
  revision: Type.Integer(),
  maxAgeDays: Type.Union([Type.Integer(), Type.Null()]),
  maxBytes: Type.Union([Type.Integer(), Type.Null()]),
  minFreeDiskPercent: Type.Union([Type.Integer(), Type.Null()]),
});
export type CacheRetentionPolicy = Static<typeof CacheRetentionPolicy>;

/** POST to AGENT_ROUTES.agentCopyRemoved: a retention policy removed the agent's cached copy. */
export const AgentCopyRemovedBody = Type.Object(
  {
    /** Null: no agent-cache policy keeps copies any more (they were all deleted). */
    policy: Type.Union([
      Type.Object(
        {
          id: Type.String({ maxLength: 100 }),
          name: Type.String({ maxLength: 200 }),
          revision: Type.Integer({ minimum: 0 }),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    /** Which of the policy's limits removed it; `noPolicy` when `policy` is null. */
    rule: Type.Enum(['maxAgeDays', 'maxBytes', 'minFreeDiskPercent', 'noPolicy']),
    removedAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);
export type AgentCopyRemovedBody = Static<typeof AgentCopyRemovedBody>;

export const NodeConfig = Type.Object({
  nodeId: Type.String(),
  name: Type.String(),
  siteId: Type.String(),
  capture: CaptureConfig,
  /** Null or absent (a config cached by an older controller): WAV at the capture's format. */
  recordingProfile: Type.Optional(Type.Union([RecordingProfileConfig, Type.Null()])),
  /** Null or absent: the agent's built-in thresholds. */
  watchdogPolicy: Type.Optional(Type.Union([WatchdogPolicyConfig, Type.Null()])),
  /**
   * The agent-cache retention policies (all of them apply to every agent). Empty or absent: the
   * agent removes its copy as soon as the controller confirms the upload.
   */
  cacheRetention: Type.Optional(Type.Array(CacheRetentionPolicy)),
  meterIntervalMs: Type.Integer(),
  heartbeatIntervalSeconds: Type.Integer(),
  jobPollIntervalSeconds: Type.Integer(),
  leaseSeconds: Type.Integer(),
  mqttPort: Type.Integer(),
});
export type NodeConfig = Static<typeof NodeConfig>;

export const CaptureStates = ['capturing', 'idle', 'error'] as const;

export const HeartbeatBody = Type.Object(
  {
    agentVersion: Type.String({ minLength: 1, maxLength: 64 }),
    captureDevice: Type.String({ maxLength: 256 }),
    captureState: Type.Enum(CaptureStates),
    diskFreeBytes: Type.Integer({ minimum: 0 }),
    clockOffsetMs: Type.Optional(Type.Integer()),
    /** Hours of recording the disk holds at the current recording rate; absent when nothing records. */
    headroomHours: Type.Optional(Type.Number({ minimum: 0 })),
    sentAtMs: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type HeartbeatBody = Static<typeof HeartbeatBody>;

export const HeartbeatResult = Type.Object({ serverTimeMs: Type.Integer() });
export type HeartbeatResult = Static<typeof HeartbeatResult>;

export const JobStates = [
  'queued',
  'claimed',
  'recording',
  'uploading',
  'completed',
  'failed',
  'cancelled',
  /**
   * The node held the job but its lease ran out (no heartbeat): it may still be recording
   * through an outage. A late heartbeat or upload with the right epoch takes the job on again.
   */
  'lost_contact',
] as const;
export type JobState = (typeof JobStates)[number];

export const JobLease = Type.Object({
  jobId: Type.String(),
  recordingId: Type.String(),
  nodeId: Type.String(),
  /** Fencing token: every later call for this job carries it; a stale one gets 409. */
  epoch: Type.Integer(),
  leaseExpiresAt: Type.String({ format: 'date-time' }),
  /** Null: record until stopped. */
  durationSeconds: Type.Union([Type.Integer(), Type.Null()]),
  stopRequested: Type.Boolean(),
  sampleRate: Type.Integer(),
  channels: Type.Integer(),
  /** 1-based capture channels to record; null = every channel. */
  channelSelection: Type.Optional(Type.Union([Type.Array(Type.Integer({ minimum: 1 })), Type.Null()])),
  /** 1 for the job itself; 2, 3… for parts recorded after an agent restart, or for segments. */
  part: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type JobLease = Static<typeof JobLease>;

/**
 * One scheduled occurrence a node holds (POST occurrences/sync): a job already leased to the
 * node, with everything needed to record it on time without the controller.
 */
export const ScheduledOccurrence = Type.Object({
  ...JobLease.properties,
  scheduleId: Type.String(),
  scheduleName: Type.String(),
  /** The rule's instant (before pre-roll). */
  occurrenceStart: Type.String({ format: 'date-time' }),
  /** Capture runs from plannedStartAt to plannedEndAt (pre- and post-roll included). */
  plannedStartAt: Type.String({ format: 'date-time' }),
  plannedEndAt: Type.String({ format: 'date-time' }),
});
export type ScheduledOccurrence = Static<typeof ScheduledOccurrence>;

export const OccurrenceSyncResult = Type.Object({
  /** Every occurrence the node holds that ends after now and starts before horizonEnd, by start. */
  occurrences: Type.Array(ScheduledOccurrence),
  horizonEnd: Type.String({ format: 'date-time' }),
  serverTimeMs: Type.Integer(),
});
export type OccurrenceSyncResult = Static<typeof OccurrenceSyncResult>;

/** Capture facts of a recording, sent with a job heartbeat (the first after capture starts, and before upload). */
/**
 * A recording's loudness, measured by the agent as it records (ITU-R BS.1770-4 / EBU R128):
 * gated integrated loudness (null: nothing passed the gates, e.g. silence), loudness range (EBU
 * Tech 3342; null: too short) and the largest true peak.
 */
export const RecordingLoudness = Type.Object(
  {
    integratedLufs: Type.Union([Type.Number({ minimum: -120, maximum: 20 }), Type.Null()]),
    loudnessRangeLu: Type.Union([Type.Number({ minimum: 0, maximum: 200 }), Type.Null()]),
    truePeakDbtp: Type.Number({ minimum: -120, maximum: 20 }),
  },
  { additionalProperties: false },
);
export type RecordingLoudness = Static<typeof RecordingLoudness>;

export const CaptureFacts = Type.Object(
  {
    /** When capture was planned to start (scheduled occurrences). */
    plannedStartMs: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Agent clock time of the first sample written. */
    firstSampleAtMs: Type.Integer({ minimum: 0 }),
    /** The agent's clock offset from the controller then (ms, positive = agent ahead). */
    clockOffsetMs: Type.Optional(Type.Integer()),
    /** The recording covers only part of its planned window. */
    partial: Type.Optional(Type.Boolean()),
    partialReason: Type.Optional(Type.String({ maxLength: 500 })),
    /** Measured while recording (sent once the file is finished). */
    loudness: Type.Optional(RecordingLoudness),
  },
  { additionalProperties: false },
);
export type CaptureFacts = Static<typeof CaptureFacts>;

/**
 * A continuation part (PUT recording-jobs/:jobId/parts/:recordingId): after a restart inside a
 * job's planned window the agent records the rest as a new recording whose id it chooses
 * (a UUID), so it can record before the controller is reachable and register it later; repeating
 * the call returns the same lease. The same call registers the next segment of a recording its
 * recording profile splits (`segment: true`): a complete file of its own, not partial.
 */
export const ContinuationBody = Type.Object(
  {
    /** The epoch the agent holds on the job it continues. */
    epoch: Type.Integer({ minimum: 1 }),
    reason: Type.String({ minLength: 1, maxLength: 500 }),
    /** Agent clock time the part started. */
    startedAtMs: Type.Integer({ minimum: 0 }),
    /** Planned length of the part (to the end of the window, or of the segment). */
    durationSeconds: Type.Integer({ minimum: 1 }),
    /**
     * The next segment of a recording split by its profile's segment length (it starts at the
     * frame after the previous segment's last): not partial. Absent (older agents): a part
     * recorded after an interruption, partial.
     */
    segment: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ContinuationBody = Static<typeof ContinuationBody>;

export const JobHeartbeatBody = Type.Object(
  {
    epoch: Type.Integer({ minimum: 1 }),
    state: Type.Enum(['recording', 'uploading']),
    capture: Type.Optional(CaptureFacts),
  },
  { additionalProperties: false },
);
export type JobHeartbeatBody = Static<typeof JobHeartbeatBody>;

export const JobHeartbeatResult = Type.Object({
  leaseExpiresAt: Type.String({ format: 'date-time' }),
  stopRequested: Type.Boolean(),
  state: Type.String(),
});
export type JobHeartbeatResult = Static<typeof JobHeartbeatResult>;

export const JobTerminalBody = Type.Object(
  {
    epoch: Type.Integer({ minimum: 1 }),
    reason: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
export type JobTerminalBody = Static<typeof JobTerminalBody>;

export const UploadStatus = Type.Object({
  recordingId: Type.String(),
  receivedBytes: Type.Integer(),
  complete: Type.Boolean(),
  sha256: Type.Union([Type.String(), Type.Null()]),
});
export type UploadStatus = Static<typeof UploadStatus>;

/** How the agent found a capture device. */
export const InterfaceKinds = ['pulse', 'alsa', 'configured'] as const;

/** One capture device (audio interface) the agent found, by its stable device reference. */
export const ReportedInterface = Type.Object(
  {
    /** PulseAudio source name, ALSA `hw:<card>,<device>`, or the configured device. */
    ref: Type.String({ minLength: 1, maxLength: 256 }),
    kind: Type.Enum(InterfaceKinds),
    description: Type.String({ maxLength: 256 }),
    channels: Type.Integer({ minimum: 1, maximum: 64 }),
    sampleRate: Type.Union([Type.Integer({ minimum: 1000, maximum: 384_000 }), Type.Null()]),
  },
  { additionalProperties: false },
);
export type ReportedInterface = Static<typeof ReportedInterface>;

/** The agent's whole set of capture devices now (each ref once); what is not in it is absent. */
export const InterfaceReport = Type.Object(
  { interfaces: Type.Array(ReportedInterface, { maxItems: 64 }) },
  { additionalProperties: false },
);
export type InterfaceReport = Static<typeof InterfaceReport>;

export const InterfaceReportResult = Type.Object({
  created: Type.Integer(),
  updated: Type.Integer(),
  /** Known devices marked absent by this report. */
  absent: Type.Integer(),
});
export type InterfaceReportResult = Static<typeof InterfaceReportResult>;

/**
 * Agent service routes (all under API_PREFIX). Responses use the `{ data }` envelope;
 * errors the `{ error: { code, message, details } }` shape of shared/src/errors.ts.
 */
/** One channel group of a node's channel map: the capture channels recorded together. */
export const ChannelMapGroup = Type.Object({
  /** A slug, unique in the map: names the group's recording. */
  name: Type.String(),
  /** 1-based capture channels, in output order. */
  channels: Type.Array(Type.Integer({ minimum: 1 })),
  /** One name per channel, in the same order; null when the template names none. */
  channelNames: Type.Union([Type.Array(Type.String()), Type.Null()]),
});
export type ChannelMapGroup = Static<typeof ChannelMapGroup>;

/**
 * The channel map assigned to a node, resolved: the template (its revision says which version)
 * and its groups; `template: null` and no groups when none is assigned (record all channels).
 */
export const NodeChannelMap = Type.Object({
  template: Type.Union([
    Type.Object({ id: Type.String(), name: Type.String(), revision: Type.Integer() }),
    Type.Null(),
  ]),
  /** The audio interface (device reference) the map applies to; null: the node's capture. */
  interface: Type.Union([Type.String(), Type.Null()]),
  groups: Type.Array(ChannelMapGroup),
});
export type NodeChannelMap = Static<typeof NodeChannelMap>;

export const AGENT_ROUTES = {
  /** POST { token } (no auth header) → EnrollExchangeResult. The token is single-use. */
  enroll: '/agent/enroll',
  /** GET → NodeConfig */
  config: (nodeId: string) => `/nodes/${nodeId}/config`,
  /** POST HeartbeatBody → HeartbeatResult */
  heartbeat: (nodeId: string) => `/nodes/${nodeId}/heartbeat`,
  /** POST (empty body) → JobLease | null */
  claimNext: (nodeId: string) => `/nodes/${nodeId}/recording-jobs/claim-next`,
  /**
   * POST (empty body) → OccurrenceSyncResult: leases the node's scheduled occurrences of the next
   * 7 days (each gets its epoch once) and lists every one it holds. Called at start, on a
   * `schedule-changed` command and every few minutes; the agent caches the answer.
   */
  occurrenceSync: (nodeId: string) => `/nodes/${nodeId}/occurrences/sync`,
  /** PUT ContinuationBody → JobLease (idempotent; 409 stale_lease on a superseded epoch) */
  jobPart: (jobId: string, recordingId: string) => `/recording-jobs/${jobId}/parts/${recordingId}`,
  /** POST JobHeartbeatBody → JobHeartbeatResult; 409 stale_lease when the epoch is not current */
  jobHeartbeat: (jobId: string) => `/recording-jobs/${jobId}/heartbeat`,
  /** POST JobTerminalBody → the job */
  jobFailed: (jobId: string) => `/recording-jobs/${jobId}/failed`,
  jobCancelled: (jobId: string) => `/recording-jobs/${jobId}/cancelled`,
  /**
   * GET → UploadStatus (how many bytes the controller holds, to resume from).
   * PUT application/octet-stream with headers UPLOAD_HEADERS (epoch, sha256 of the
   * whole file as hex, total bytes) and, when resuming from byte N > 0,
   * `content-range: bytes N-(total-1)/total`. → UploadStatus; 409 offset_mismatch
   * (details.receivedBytes) when N is not what the controller holds; 422
   * checksum_mismatch when the finished file does not hash to the sha256 header.
   * Completion is idempotent: when the status says every byte is held but not
   * complete, the agent sends an empty PUT at the final offset (content-range in the
   * unsatisfied-range form, `bytes *` then `/total`) and the controller verifies and
   * completes what it holds. The controller also completes a file held whole by
   * itself, on the next GET or at start-up, against the sha256 declared when the
   * upload began.
   */
  cacheFile: (recordingId: string) => `/recordings/${recordingId}/cache-file`,
  /**
   * POST AgentCopyRemovedBody → 204: an agent-cache retention policy removed the agent's copy of
   * a recording the controller had confirmed (audited with the policy). Idempotent per recording.
   */
  agentCopyRemoved: (recordingId: string) => `/recordings/${recordingId}/agent-copy/removed`,
  /** GET → NodeChannelMap (refetched on `config-changed`) */
  channelMapAssignments: (nodeId: string) => `/nodes/${nodeId}/channel-map-assignments`,
  /**
   * PUT InterfaceReport → InterfaceReportResult: the agent's capture devices (at start, when the
   * set changed, and on every MQTT reconnect). Idempotent; devices not listed are marked absent.
   */
  interfaces: (nodeId: string) => `/nodes/${nodeId}/interfaces`,
  /**
   * POST HealthEventMessage (shared/src/mqtt.ts) → HealthEventSyncResult: the HTTP fallback of
   * the MQTT `events` topic, for agents without MQTT or syncing their queue. Idempotent by event
   * id: a re-sent report is stored once, a later one updates the event.
   */
  healthEvents: (nodeId: string) => `/nodes/${nodeId}/health-events`,
  /**
   * POST MeterFrame (shared/src/mqtt.ts) as JSON → 204: the HTTP fallback of the MQTT `meters`
   * topic, for an agent whose MQTT connection is down. The controller handles it as a frame
   * published on the node's own topic (live meters, the SSE stream, calibration).
   */
  meterFrame: (nodeId: string) => `/nodes/${nodeId}/meter-frame`,
  /**
   * POST one live listen frame (shared/src/listen.ts, application/octet-stream) → 204: the HTTP
   * fallback of the MQTT `listen` topic, relayed like a frame published there.
   */
  listenChunk: (nodeId: string) => `/nodes/${nodeId}/listen/chunk`,
  /**
   * POST { jobId } → RotatedCredential (shared/src/lifecycle.ts): a new credential for the
   * rotate-credential action. The old one keeps working until the agent first authenticates
   * with the new one (so an agent that dies before storing it is not locked out).
   */
  rotateCredential: (nodeId: string) => `/nodes/${nodeId}/credential`,
  /** PUT Diagnostics (shared/src/lifecycle.ts) → 204: the collect-diagnostics action's file. */
  lifecycleDiagnostics: (nodeId: string, jobId: string) =>
    `/nodes/${nodeId}/lifecycle-jobs/${jobId}/diagnostics`,
} as const;

export const HealthEventSyncResult = Type.Object({
  id: Type.String(),
  /** created: a new event; updated: a later report changed it; unchanged: a re-send or an older report. */
  outcome: Type.Enum(['created', 'updated', 'unchanged']),
  /** The event's status now (operators may have acknowledged or suppressed it). */
  status: Type.String(),
});
export type HealthEventSyncResult = Static<typeof HealthEventSyncResult>;
