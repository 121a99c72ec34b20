/**
 * What gets signed. Two payload types, both `signing_version: 1`, snake_case, every
 * Discord id a decimal string (snowflakes exceed 2^53), every instant an ISO 8601
 * UTC string with milliseconds exactly as `Date#toISOString()` writes it (one
 * spelling per instant, readable by a member without a converter), every duration
 * whole seconds. `record_type` separates the two, so a session receipt's signature
 * can never be passed off as a period snapshot's.
 *
 * The checks are hand-written rather than a TypeBox schema because the offline
 * verifier imports only node builtins, @noble/ed25519 and canonicalize. Version 1 is
 * closed: an unknown field is rejected, and any new field means signing_version 2.
 */
import { isSha256Hex, sha256Hex } from './encoding.js';

export const SIGNING_VERSION = 1;

export const RECORD_TYPES = {
  sessionReceipt: 'session_receipt',
  periodSnapshot: 'period_snapshot',
} as const;
export type RecordType = (typeof RECORD_TYPES)[keyof typeof RECORD_TYPES];

export interface SessionReceiptPayload {
  signing_version: typeof SIGNING_VERSION;
  record_type: typeof RECORD_TYPES.sessionReceipt;
  session_id: string;
  guild_id: string;
  user_id: string;
  channel_id: string;
  started_at: string;
  ended_at: string;
  active_seconds: number;
  paused_seconds: number;
  outage_seconds: number;
  close_reason: string;
}

export interface LeaderboardEntry {
  user_id: string;
  active_seconds: number;
  rank: number;
}

export interface PeriodSnapshotPayload {
  signing_version: typeof SIGNING_VERSION;
  record_type: typeof RECORD_TYPES.periodSnapshot;
  guild_id: string;
  period_index: number;
  period_started_at: string;
  period_ended_at: string;
  leaderboard: LeaderboardEntry[];
  /** How many session receipts the period holds… */
  session_count: number;
  /** …and which: see sessionReceiptsDigest. */
  session_receipts_sha256: string;
}

export type AttendancePayload = SessionReceiptPayload | PeriodSnapshotPayload;

/** A payload that cannot be signed (thrown by the builders and by signRecord). */
export class RecordPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordPayloadError';
  }
}

const SNOWFLAKE = /^[1-9][0-9]{0,19}$/;
const MAX_SNOWFLAKE = 2n ** 64n - 1n;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const CLOSE_REASON = /^[a-z][a-z0-9_]{0,63}$/;

/** A Discord id: a decimal unsigned 64-bit integer, as a string. */
export function isSnowflake(value: unknown): value is string {
  return typeof value === 'string' && SNOWFLAKE.test(value) && BigInt(value) <= MAX_SNOWFLAKE;
}

export function isSignedTimestamp(value: unknown): value is string {
  if (typeof value !== 'string' || !ISO_INSTANT.test(value)) return false;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && new Date(ms).toISOString() === value;
}

/** The one spelling of an instant in a signed payload. */
export function toSignedTimestamp(at: Date | number): string {
  const date = typeof at === 'number' ? new Date(at) : at;
  if (!Number.isFinite(date.getTime())) throw new RecordPayloadError('invalid date');
  const text = date.toISOString();
  if (!ISO_INSTANT.test(text)) throw new RecordPayloadError(`date out of range: ${text}`);
  return text;
}

/**
 * Binds a snapshot to its exact set of session receipts: SHA-256 (hex) of the
 * receipts' payloadHashes, sorted, joined with "\n". Order-free, so the export may
 * list receipts in any order; constant-size, so a snapshot stays small however busy
 * the period was.
 */
export function sessionReceiptsDigest(payloadHashes: readonly string[]): string {
  for (const hash of payloadHashes)
    if (!isSha256Hex(hash)) throw new RecordPayloadError(`not a SHA-256 hex payloadHash: ${String(hash)}`);
  return sha256Hex([...payloadHashes].sort().join('\n'));
}

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

type Check = (value: unknown) => boolean;

const SESSION_FIELDS: Record<keyof SessionReceiptPayload, Check> = {
  signing_version: (v) => v === SIGNING_VERSION,
  record_type: (v) => v === RECORD_TYPES.sessionReceipt,
  session_id: (v) => typeof v === 'string' && SESSION_ID.test(v),
  guild_id: isSnowflake,
  user_id: isSnowflake,
  channel_id: isSnowflake,
  started_at: isSignedTimestamp,
  ended_at: isSignedTimestamp,
  active_seconds: isCount,
  paused_seconds: isCount,
  outage_seconds: isCount,
  close_reason: (v) => typeof v === 'string' && CLOSE_REASON.test(v),
};

const LEADERBOARD_FIELDS: Record<keyof LeaderboardEntry, Check> = {
  user_id: isSnowflake,
  active_seconds: isCount,
  rank: (v) => isCount(v) && v >= 1,
};

const SNAPSHOT_FIELDS: Record<keyof PeriodSnapshotPayload, Check> = {
  signing_version: (v) => v === SIGNING_VERSION,
  record_type: (v) => v === RECORD_TYPES.periodSnapshot,
  guild_id: isSnowflake,
  period_index: isCount,
  period_started_at: isSignedTimestamp,
  period_ended_at: isSignedTimestamp,
  leaderboard: Array.isArray,
  session_count: isCount,
  session_receipts_sha256: isSha256Hex,
};

function fieldsProblem(value: unknown, fields: Record<string, Check>, what: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${what} is not an object`;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!(key in fields)) return `${what} has an unknown field "${key}"`;
  for (const [key, check] of Object.entries(fields)) {
    if (!(key in record)) return `${what} lacks "${key}"`;
    if (!check(record[key])) return `${what} has an invalid "${key}": ${JSON.stringify(record[key])}`;
  }
  return undefined;
}

/** Why a value is not a valid version-1 payload, or undefined if it is one. */
export function payloadProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'payload is not an object';
  const { signing_version: version, record_type: type } = value as Record<string, unknown>;
  if (version !== SIGNING_VERSION) return `unsupported signing_version ${JSON.stringify(version)}`;
  if (type === RECORD_TYPES.sessionReceipt) {
    const problem = fieldsProblem(value, SESSION_FIELDS, 'session receipt');
    if (problem) return problem;
    const p = value as SessionReceiptPayload;
    if (p.ended_at < p.started_at) return 'session receipt ends before it starts';
    return undefined;
  }
  if (type === RECORD_TYPES.periodSnapshot) {
    const problem = fieldsProblem(value, SNAPSHOT_FIELDS, 'period snapshot');
    if (problem) return problem;
    const p = value as PeriodSnapshotPayload;
    if (p.period_ended_at < p.period_started_at) return 'period snapshot ends before it starts';
    const users = new Set<string>();
    for (const [i, entry] of p.leaderboard.entries()) {
      const entryProblem = fieldsProblem(entry, LEADERBOARD_FIELDS, `leaderboard[${i}]`);
      if (entryProblem) return entryProblem;
      if (users.has(entry.user_id)) return `leaderboard lists user ${entry.user_id} twice`;
      users.add(entry.user_id);
    }
    return undefined;
  }
  return `unknown record_type ${JSON.stringify(type)}`;
}

export function assertPayload(value: unknown): asserts value is AttendancePayload {
  const problem = payloadProblem(value);
  if (problem) throw new RecordPayloadError(problem);
}

export interface SessionReceiptInput {
  sessionId: string;
  guildId: string;
  userId: string;
  channelId: string;
  startedAt: Date | number;
  endedAt: Date | number;
  activeSeconds: number;
  pausedSeconds: number;
  outageSeconds: number;
  /** snake_case; the tracker owns the list (tracker.types.ts CloseReason: "leave", "move", "reset"…). */
  closeReason: string;
}

/** A session receipt payload from the tracker's fields; throws RecordPayloadError if invalid. */
export function sessionReceiptPayload(input: SessionReceiptInput): SessionReceiptPayload {
  const payload: SessionReceiptPayload = {
    signing_version: SIGNING_VERSION,
    record_type: RECORD_TYPES.sessionReceipt,
    session_id: input.sessionId,
    guild_id: input.guildId,
    user_id: input.userId,
    channel_id: input.channelId,
    started_at: toSignedTimestamp(input.startedAt),
    ended_at: toSignedTimestamp(input.endedAt),
    active_seconds: input.activeSeconds,
    paused_seconds: input.pausedSeconds,
    outage_seconds: input.outageSeconds,
    close_reason: input.closeReason,
  };
  assertPayload(payload);
  return payload;
}

export interface PeriodSnapshotInput {
  guildId: string;
  periodIndex: number;
  periodStartedAt: Date | number;
  periodEndedAt: Date | number;
  leaderboard: readonly { userId: string; activeSeconds: number; rank: number }[];
  /** The payloadHash of every session receipt in the period (signed or still pending). */
  sessionPayloadHashes: readonly string[];
}

/** A period snapshot payload; throws RecordPayloadError if invalid. */
export function periodSnapshotPayload(input: PeriodSnapshotInput): PeriodSnapshotPayload {
  const payload: PeriodSnapshotPayload = {
    signing_version: SIGNING_VERSION,
    record_type: RECORD_TYPES.periodSnapshot,
    guild_id: input.guildId,
    period_index: input.periodIndex,
    period_started_at: toSignedTimestamp(input.periodStartedAt),
    period_ended_at: toSignedTimestamp(input.periodEndedAt),
    leaderboard: input.leaderboard.map((e) => ({
      user_id: e.userId,
      active_seconds: e.activeSeconds,
      rank: e.rank,
    })),
    session_count: input.sessionPayloadHashes.length,
    session_receipts_sha256: sessionReceiptsDigest(input.sessionPayloadHashes),
  };
  assertPayload(payload);
  return payload;
}
