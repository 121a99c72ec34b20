import Type from 'typebox';

const DateTime = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const NullableDateTime = Nullable(DateTime);
const NullableString = Nullable(Type.String());
const NullableInteger = Nullable(Type.Integer());

export const RecordingContextParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });

const Part = Type.Object({
  part: Type.Integer({
    description: '1 for the job itself; 2, 3… for parts recorded after an agent restart',
  }),
  jobId: Type.String(),
  recordingId: Type.String(),
  parentJobId: NullableString,
  jobState: Type.String(),
  recordingState: Type.String(),
  plannedStartAt: NullableDateTime,
  plannedEndAt: NullableDateTime,
  startedAt: NullableDateTime,
  finishedAt: NullableDateTime,
  firstSampleAt: NullableDateTime,
  durationMs: NullableInteger,
  sha256: NullableString,
  partial: Type.Boolean(),
  partialReason: NullableString,
  current: Type.Boolean({ description: 'This is the recording asked about' }),
});

const PublishedKey = Type.Object({
  keyId: Type.String(),
  publicKey: Type.String({ description: 'base64url, raw 32-byte Ed25519 public key' }),
  retiredAt: Type.Optional(DateTime),
});

const AttendedSession = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  displayName: Nullable(
    Type.String({
      description: "The member's name when last seen in voice (null: never seen with one); not signed",
    }),
  ),
  startedAt: DateTime,
  endedAt: DateTime,
  activeSeconds: Type.Integer(),
  pausedSeconds: Type.Integer(),
  outageSeconds: Type.Integer(),
  closeReason: Type.String(),
  source: Type.String({ description: 'discord or webhook' }),
  payloadHash: Type.String({ description: 'SHA-256 hex of the receipt payload (known before signing)' }),
  receipt: Nullable(
    Type.Object(
      {
        signedBytes: Type.String({
          description: 'RFC 8785 canonical JSON of the receipt: the exact signed text',
        }),
        keyId: Type.String(),
        payloadHash: Type.String(),
        signature: Type.String({ description: 'base64url Ed25519 signature of UTF-8(signedBytes)' }),
        signedAt: NullableDateTime,
      },
      { description: 'Null while the guild key was locked when the session closed (signed at unlock)' },
    ),
  ),
  verification: Type.Object({
    valid: Type.Boolean(),
    reason: Type.Optional(Type.String()),
    key_id: Type.Optional(Type.String()),
  }),
});

const Attendance = Type.Object({
  guildId: Type.String(),
  channelId: Type.String(),
  guildName: NullableString,
  window: Type.Object({
    from: DateTime,
    to: DateTime,
    basis: Type.Union([Type.Literal('recorded'), Type.Literal('planned')], {
      description: 'recorded: from the first sample to its end (or now); planned: before capture starts',
    }),
  }),
  visible: Type.Boolean({ description: 'False without attendance:read over the guild (reason says so)' }),
  reason: NullableString,
  sessions: Type.Array(AttendedSession, {
    description:
      'Completed sessions in the channel overlapping the window, by start (open ones have no receipt yet)',
  }),
  truncated: Type.Boolean(),
  keys: Nullable(
    Type.Object({
      algorithm: Type.Literal('Ed25519'),
      active: Nullable(PublishedKey),
      retired: Type.Array(PublishedKey),
    }),
  ),
});

export const RecordingContext = Type.Object({
  recording: Type.Object({
    id: Type.String(),
    title: Type.String(),
    state: Type.String(),
    createdAt: DateTime,
    completedAt: NullableDateTime,
  }),
  node: Type.Object({ id: Type.String(), name: Type.String(), siteId: Type.String() }),
  schedule: Nullable(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      timeZone: Type.String(),
      voiceGuildId: NullableString,
      voiceChannelId: NullableString,
    }),
  ),
  occurrence: Nullable(
    Type.Object({
      scheduleId: NullableString,
      start: NullableDateTime,
      plannedStartAt: NullableDateTime,
      plannedEndAt: NullableDateTime,
    }),
  ),
  parts: Type.Array(Part, {
    description: 'Every part of the same occurrence on this node, this one included',
  }),
  checksums: Type.Object({
    sha256: Nullable(Type.String({ description: 'Verified SHA-256 of the stored file' })),
    expectedSha256: Nullable(Type.String({ description: 'What the agent declared for the upload' })),
  }),
  upload: Type.Object({
    state: Type.String(),
    receivedBytes: Type.Integer(),
    expectedBytes: NullableInteger,
    sizeBytes: NullableInteger,
    jobId: NullableString,
    jobState: NullableString,
    epoch: NullableInteger,
  }),
  capture: Type.Object({
    plannedStartAt: NullableDateTime,
    firstSampleAt: NullableDateTime,
    clockOffsetMs: NullableInteger,
    durationMs: NullableInteger,
    partial: Type.Boolean(),
    partialReason: NullableString,
  }),
  attendance: Nullable(Attendance),
});
