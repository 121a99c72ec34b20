/**
 * A period export: one self-contained JSON document with the period snapshot, every
 * session receipt it binds, and the public keys that signed them, so that anyone can
 * verify it offline with nothing but the file (controller/src/attendance-verify.ts).
 *
 * The key inside proves integrity, not origin: a member should also check that the
 * key id is the one their server publishes (verifyExport's `trustedKeyIds`).
 */
import type { VerifyEngine } from './ed25519.js';
import { sha256Hex } from './encoding.js';
import { KeyRing, type PublishedKey, publishedKeyProblem } from './key-ring.js';
import {
  type PeriodSnapshotPayload,
  payloadProblem,
  RECORD_TYPES,
  RecordPayloadError,
  sessionReceiptsDigest,
} from './payloads.js';
import { type RecordFailureReason, recordShape, type SignedRecord } from './records.js';

export const EXPORT_FORMAT = 'earshot.attendance.period-export';
export const EXPORT_FORMAT_VERSION = 1;

const HOW_TO_VERIFY =
  'Run `earshot-attendance-verify <this file>`, or by hand: for each record, ' +
  'SHA-256(UTF-8(signedBytes)) in hex equals payloadHash, and signature (base64url) is an Ed25519 ' +
  '(RFC 8032) signature of UTF-8(signedBytes) by the public key (base64url, raw 32 bytes) whose ' +
  'keyId (first 16 hex of SHA-256 of the raw key) the record names. The snapshot binds its receipts: ' +
  'session_receipts_sha256 = SHA-256 of the receipts\' payloadHashes, sorted, joined by "\\n".';

export interface PeriodExport {
  format: typeof EXPORT_FORMAT;
  formatVersion: typeof EXPORT_FORMAT_VERSION;
  algorithm: 'Ed25519';
  guildId: string;
  periodIndex: number;
  /** The guild's active key when the export was made. */
  key: PublishedKey;
  /** Earlier keys; old records name them by keyId. */
  retiredKeys: PublishedKey[];
  snapshot: SignedRecord;
  sessions: SignedRecord[];
  howToVerify: string;
}

export interface PeriodExportInput {
  snapshot: SignedRecord;
  sessions: readonly SignedRecord[];
  keyId: string;
  publicKey: string;
  retiredKeys?: readonly PublishedKey[];
}

const onlyRecordFields = ({ signedBytes, keyId, payloadHash, signature }: SignedRecord): SignedRecord => ({
  signedBytes,
  keyId,
  payloadHash,
  signature,
});

/**
 * Assembles the document; it does not verify signatures (verifyExport does). Throws
 * RecordPayloadError if the snapshot is not a period snapshot, TypeError on a bad key.
 */
export function buildPeriodExport(input: PeriodExportInput): PeriodExport {
  const ring = KeyRing.from({
    active: { keyId: input.keyId, publicKey: input.publicKey },
    retired: input.retiredKeys ?? [],
  });
  const snapshot = parseSnapshot(input.snapshot.signedBytes);
  return {
    format: EXPORT_FORMAT,
    formatVersion: EXPORT_FORMAT_VERSION,
    algorithm: 'Ed25519',
    guildId: snapshot.guild_id,
    periodIndex: snapshot.period_index,
    key: ring.active!,
    retiredKeys: [...ring.retired],
    snapshot: onlyRecordFields(input.snapshot),
    sessions: input.sessions.map(onlyRecordFields),
    howToVerify: HOW_TO_VERIFY,
  };
}

function parseSnapshot(signedBytes: string): PeriodSnapshotPayload {
  let payload: unknown;
  try {
    payload = JSON.parse(signedBytes);
  } catch {
    throw new RecordPayloadError('snapshot signedBytes is not JSON');
  }
  const problem = payloadProblem(payload);
  if (problem) throw new RecordPayloadError(problem);
  if ((payload as PeriodSnapshotPayload).record_type !== RECORD_TYPES.periodSnapshot)
    throw new RecordPayloadError('the snapshot record is not a period snapshot');
  return payload as PeriodSnapshotPayload;
}

export type ExportFailureReason =
  | RecordFailureReason
  /** Not an Earshot period export at all (the CLI's "unreadable input"). */
  | 'unsupported_export'
  | 'malformed_export'
  | 'malformed_key'
  | 'untrusted_key'
  | 'wrong_record_type'
  | 'guild_mismatch'
  | 'period_mismatch'
  | 'duplicate_session'
  | 'session_set_mismatch';

export interface ExportVerification {
  valid: boolean;
  /** False when the document is not an Earshot period export (version 1) at all. */
  recognized: boolean;
  guildId?: string;
  periodIndex?: number;
  /** Ids of the keys that signed records that verified. */
  signedByKeyIds: string[];
  counts: { sessions: number; recordsChecked: number; recordsValid: number; recordsInvalid: number };
  /** The first problem found; `where` is "export", "keys", "snapshot" or "sessions[i]". */
  firstFailure?: { where: string; reason: ExportFailureReason; message: string };
}

export interface VerifyExportOptions {
  engine?: VerifyEngine;
  /** If given, a record signed by any other key fails with `untrusted_key`. */
  trustedKeyIds?: readonly string[];
  /** Called every PROGRESS_EVERY records and at the end, with records checked so far and in all. */
  onProgress?: (done: number, total: number) => void;
}

const PROGRESS_EVERY = 500;

/**
 * Verifies every record in an export against the keys inside it; never throws. Checks:
 * each record's payloadHash against its bytes, its signature under the key it names
 * (active or retired), that its bytes are a canonical version-1 payload of the right
 * type for its place, that every receipt is of the snapshot's guild and listed once,
 * and that the receipts are exactly the set the snapshot's digest and count bind.
 */
export async function verifyExport(
  doc: unknown,
  options: VerifyExportOptions = {},
): Promise<ExportVerification> {
  const run = new ExportCheck(options);
  const d = doc as Partial<PeriodExport> | null;
  const unusable = exportProblem(d, run);
  if (unusable || !d) return run.done();
  const ring = KeyRing.from({ active: d.key!, retired: d.retiredKeys! });
  const sessions: unknown[] = d.sessions!;
  run.report.counts.sessions = sessions.length;
  const snapshot = await run.snapshot(ring, d);
  const hashes = await run.sessions(ring, sessions, snapshot);
  if (snapshot) {
    if (snapshot.session_count !== sessions.length)
      run.failed(
        'sessions',
        'session_set_mismatch',
        `the snapshot binds ${snapshot.session_count} session receipts, the export holds ${sessions.length}`,
      );
    else if (sessionReceiptsDigest(hashes) !== snapshot.session_receipts_sha256)
      run.failed(
        'sessions',
        'session_set_mismatch',
        'the session receipts are not the set the snapshot signed',
      );
  }
  return run.done();
}

/** The export's envelope: its format, version and shape; marks it recognized when the format is ours. */
function exportProblem(d: Partial<PeriodExport> | null, run: ExportCheck): true | undefined {
  if (typeof d !== 'object' || d === null || d.format !== EXPORT_FORMAT) {
    run.failed('export', 'unsupported_export', `not an Earshot period export (format "${EXPORT_FORMAT}")`);
    return true;
  }
  if (d.formatVersion !== EXPORT_FORMAT_VERSION) {
    run.failed(
      'export',
      'unsupported_export',
      `export formatVersion ${String(d.formatVersion)} is not supported`,
    );
    return true;
  }
  run.report.recognized = true;
  if (!Array.isArray(d.sessions) || !Array.isArray(d.retiredKeys) || typeof d.snapshot !== 'object') {
    run.failed('export', 'malformed_export', 'the export lacks its key, retiredKeys, snapshot or sessions');
    return true;
  }
  const keyProblem = publishedKeyProblem(d.key) ?? d.retiredKeys.map(publishedKeyProblem).find(Boolean);
  if (keyProblem) {
    run.failed('keys', 'malformed_key', keyProblem);
    return true;
  }
  return undefined;
}

/** One verification run: the report it builds, and the checks of its records. */
class ExportCheck {
  readonly report: ExportVerification = {
    valid: false,
    recognized: false,
    signedByKeyIds: [],
    counts: { sessions: 0, recordsChecked: 0, recordsValid: 0, recordsInvalid: 0 },
  };
  private readonly signedBy = new Set<string>();
  private readonly trusted?: Set<string>;

  constructor(private readonly options: VerifyExportOptions) {
    if (options.trustedKeyIds) this.trusted = new Set(options.trustedKeyIds);
  }

  /** The first failure is the one reported. */
  failed(where: string, reason: ExportFailureReason, message: string): void {
    this.report.firstFailure ??= { where, reason, message };
  }

  done(): ExportVerification {
    this.report.signedByKeyIds = [...this.signedBy].sort();
    this.report.valid = this.report.firstFailure === undefined;
    return this.report;
  }

  /** One record: its signature, then its type for its place. Returns the result if valid. */
  private async check(ring: KeyRing, record: unknown, where: string, expectedType: string) {
    const { counts } = this.report;
    counts.recordsChecked++;
    const result = await ring.verify(record, { engine: this.options.engine });
    const problem: [ExportFailureReason, string] | undefined = !result.valid
      ? [result.reason, result.message]
      : this.trusted && !this.trusted.has(result.keyId)
        ? ['untrusted_key', `signed by key ${result.keyId}, which is not among the trusted key ids`]
        : result.payload.record_type !== expectedType
          ? ['wrong_record_type', `expected a ${expectedType}, found a ${result.payload.record_type}`]
          : undefined;
    if (problem || !result.valid) {
      counts.recordsInvalid++;
      if (problem) this.failed(where, ...problem);
      return undefined;
    }
    counts.recordsValid++;
    this.signedBy.add(result.keyId);
    return result;
  }

  /** The period snapshot, if validly signed, checked against the export's guild and period. */
  async snapshot(ring: KeyRing, d: Partial<PeriodExport>): Promise<PeriodSnapshotPayload | undefined> {
    const result = await this.check(ring, d.snapshot, 'snapshot', RECORD_TYPES.periodSnapshot);
    const snapshot = result?.payload as PeriodSnapshotPayload | undefined;
    if (!snapshot) return undefined;
    this.report.guildId = snapshot.guild_id;
    this.report.periodIndex = snapshot.period_index;
    if (d.guildId !== snapshot.guild_id)
      this.failed(
        'export',
        'guild_mismatch',
        `export says guild ${d.guildId}, its snapshot ${snapshot.guild_id}`,
      );
    if (d.periodIndex !== snapshot.period_index)
      this.failed(
        'export',
        'period_mismatch',
        `export says period ${d.periodIndex}, its snapshot ${snapshot.period_index}`,
      );
    return snapshot;
  }

  /** Every session receipt; returns the payload hashes of the bytes present, valid or not. */
  async sessions(
    ring: KeyRing,
    sessions: unknown[],
    snapshot: PeriodSnapshotPayload | undefined,
  ): Promise<string[]> {
    const total = sessions.length + 1;
    const hashes: string[] = [];
    const seenHashes = new Set<string>();
    const seenSessionIds = new Set<string>();
    for (const [i, record] of sessions.entries()) {
      const where = `sessions[${i}]`;
      const result = await this.check(ring, record, where, RECORD_TYPES.sessionReceipt);
      // The set the snapshot binds is compared with the bytes actually present, valid or not.
      const shape = result ? undefined : recordShape(record);
      if (result) hashes.push(result.payloadHash);
      else if (shape) hashes.push(sha256Hex(shape.signedBytes));
      if (result?.payload.record_type === RECORD_TYPES.sessionReceipt) {
        const receipt = result.payload;
        if (snapshot && receipt.guild_id !== snapshot.guild_id)
          this.failed(
            where,
            'guild_mismatch',
            `receipt of guild ${receipt.guild_id} in guild ${snapshot.guild_id}'s export`,
          );
        if (seenHashes.has(result.payloadHash) || seenSessionIds.has(receipt.session_id))
          this.failed(where, 'duplicate_session', `session ${receipt.session_id} appears more than once`);
        seenHashes.add(result.payloadHash);
        seenSessionIds.add(receipt.session_id);
      }
      if ((i + 1) % PROGRESS_EVERY === 0) {
        this.options.onProgress?.(i + 2, total);
        // Let timers run (a progress bar, or the controller's other work) during a long check.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    this.options.onProgress?.(total, total);
    return hashes;
  }
}
