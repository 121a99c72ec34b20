/**
 * Guild signing keys: generate (rotating the old key, which stays
 * published), unlock after a restart (the unlocked key lives in memory only), and
 * sign what was stored while locked, never dropping it. Also verification of stored
 * records against the guild's published keys. The passphrase is never logged, stored
 * or audited.
 */

import { ERROR_CODES } from '../../../../../shared/src/errors.js';
import type { AuditWriter } from '../../../core/audit.types.js';
import { AppError, conflict, notFound } from '../../../core/errors.js';
import { actorOf, type CallContext } from '../../../core/principal.js';
import type { Db } from '../../../db/client.js';
import type { GuildLocks } from '../guilds/guild-locks.js';
import type { AttendancePeriod, PeriodsRepository } from '../periods/periods.repository.js';
import type { SessionsRepository, VoiceSession } from '../tracking/sessions.repository.js';
import { generateGuildKey, SigningKeyError, unlock } from './key-envelope.js';
import { KeyRing, type PublishedKey } from './key-ring.js';
import type { GuildKey, KeysRepository } from './keys.repository.js';
import type { AttendancePayload } from './payloads.js';
import { preparePayload, type SignedRecord, signRecord } from './records.js';
import { receiptOf } from './session-receipts.js';
import type { SigningKey } from './signing-key.js';

/** Pending rows are signed in batches of this many (one transaction each). */
const SIGN_BATCH = 200;

export interface Verification {
  valid: boolean;
  reason?: string;
  key_id?: string;
}

export function publishedKeys(rows: readonly GuildKey[]): { active?: PublishedKey; retired: PublishedKey[] } {
  const active = rows.find((k) => k.active);
  return {
    ...(active && { active: { keyId: active.id, publicKey: active.publicKey } }),
    retired: rows
      .filter((k) => !k.active)
      .map((k) => ({
        keyId: k.id,
        publicKey: k.publicKey,
        retiredAt: (k.retiredAt ?? k.createdAt).toISOString(),
      })),
  };
}

export class AttendanceSigningService {
  /** Unlocked keys, by guild. Memory only: a restart locks every guild again. */
  private readonly unlocked = new Map<string, SigningKey>();

  private readonly db: Db;
  private readonly keysRepo: KeysRepository;
  private readonly sessionsRepo: SessionsRepository;
  private readonly periodsRepo: PeriodsRepository;
  private readonly audit: AuditWriter;
  private readonly locks: GuildLocks;
  private readonly options: { scryptLogN: number };
  private readonly now: () => Date;

  constructor(deps: {
    db: Db;
    keysRepo: KeysRepository;
    sessionsRepo: SessionsRepository;
    periodsRepo: PeriodsRepository;
    audit: AuditWriter;
    locks: GuildLocks;
    options: { scryptLogN: number };
    now?: () => Date;
  }) {
    this.db = deps.db;
    this.keysRepo = deps.keysRepo;
    this.sessionsRepo = deps.sessionsRepo;
    this.periodsRepo = deps.periodsRepo;
    this.audit = deps.audit;
    this.locks = deps.locks;
    this.options = deps.options;
    this.now = deps.now ?? (() => new Date());
  }

  /** The guild's unlocked key, if any. */
  keyFor(guildId: string): SigningKey | undefined {
    return this.unlocked.get(guildId);
  }

  async generateKeys(guildId: string, passphrase: string, ctx: CallContext) {
    const generated = await generateGuildKey({ guildId, passphrase, scryptLogN: this.options.scryptLogN });
    const at = this.now();
    const retired = await this.db.$transaction(async (tx) => {
      const before = await this.keysRepo.activeKey(guildId, tx);
      await this.keysRepo.retireKeys(tx, guildId, at);
      await this.keysRepo.createKey(tx, {
        id: generated.keyId,
        guildId,
        publicKey: generated.publicKey,
        encryptedPrivateKey: generated.encryptedPrivateKey,
        active: true,
        createdAt: at,
      });
      await this.audit.recordChange(tx, ctx, {
        permission: 'attendance:manage',
        action: before ? 'attendance.signing.rotate_key' : 'attendance.signing.generate_key',
        target: { type: 'guild', id: guildId },
        before: before ? { keyId: before.id } : null,
        after: { keyId: generated.keyId, publicKey: generated.publicKey },
      });
      return before;
    });
    this.replaceKey(guildId, generated.signingKey);
    const signed = await this.signPending(guildId);
    return {
      key_id: generated.keyId,
      public_key: generated.publicKey,
      retired_key_id: retired?.id ?? null,
      signed_sessions: signed.sessions,
      signed_periods: signed.periods,
    };
  }

  async unlock(guildId: string, passphrase: string, ctx: CallContext) {
    const active = await this.keysRepo.activeKey(guildId);
    if (!active) throw conflict('This guild has no signing key yet: generate one first.');
    let key: SigningKey;
    try {
      key = await unlock(active.encryptedPrivateKey, passphrase, { guildId });
    } catch (error) {
      const reason = error instanceof SigningKeyError ? error.reason : 'unlock_failed';
      await this.audit.recordAlone({
        actor: actorOf(ctx.principal),
        permission: 'attendance:manage',
        action: 'attendance.signing.unlock',
        target: { type: 'guild', id: guildId },
        outcome: 'failure',
        reason,
        context: ctx.request,
      });
      if (reason === 'invalid_passphrase')
        throw new AppError(422, ERROR_CODES.unprocessable, 'The passphrase does not unlock this key.');
      throw new AppError(422, ERROR_CODES.unprocessable, `The stored key cannot be unlocked (${reason}).`);
    }
    await this.audit.recordAlone({
      actor: actorOf(ctx.principal),
      permission: 'attendance:manage',
      action: 'attendance.signing.unlock',
      target: { type: 'guild', id: guildId },
      outcome: 'success',
      after: { keyId: key.keyId },
      context: ctx.request,
    });
    this.replaceKey(guildId, key);
    const signed = await this.signPending(guildId);
    return { key_id: key.keyId, signed_sessions: signed.sessions, signed_periods: signed.periods };
  }

  /** Locks every guild (shutdown): the secrets are overwritten. */
  lockAll(): void {
    for (const key of this.unlocked.values()) key.destroy();
    this.unlocked.clear();
  }

  private replaceKey(guildId: string, key: SigningKey): void {
    const previous = this.unlocked.get(guildId);
    this.unlocked.set(guildId, key);
    if (previous && previous !== key) previous.destroy();
  }

  /** Signs a payload now if the guild's key is unlocked; undefined while locked. */
  async signNow(guildId: string, payload: AttendancePayload): Promise<SignedRecord | undefined> {
    const key = this.unlocked.get(guildId);
    return key ? signRecord(key, payload) : undefined;
  }

  /** Signs every session and period of the guild stored while locked. */
  signPending(guildId: string): Promise<{ sessions: number; periods: number }> {
    return this.locks.run(guildId, async () => {
      const key = this.unlocked.get(guildId);
      if (!key) return { sessions: 0, periods: 0 };
      let sessions = 0;
      for (;;) {
        const batch = await this.sessionsRepo.pendingSessions(guildId, SIGN_BATCH);
        if (batch.length === 0) break;
        const records = await Promise.all(batch.map((row) => signRecord(key, receiptOf(row))));
        const at = this.now();
        await this.db.$transaction(async (tx) => {
          for (const [i, row] of batch.entries())
            await this.sessionsRepo.signSession(tx, row.id, records[i]!, at);
          await this.audit.record(tx, {
            actor: { type: 'system', id: null, name: 'attendance-signing' },
            permission: 'attendance:manage',
            action: 'attendance.sessions.sign_pending',
            target: { type: 'guild', id: guildId },
            outcome: 'success',
            after: { keyId: key.keyId, sessions: batch.length },
          });
        });
        sessions += batch.length;
      }
      const periods = await this.periodsRepo.pendingPeriods(guildId);
      for (const period of periods) {
        const record = await signRecord(key, JSON.parse(period.snapshot) as AttendancePayload);
        await this.db.$transaction(async (tx) => {
          await this.periodsRepo.signPeriod(tx, guildId, period.periodIndex, record);
          await this.audit.record(tx, {
            actor: { type: 'system', id: null, name: 'attendance-signing' },
            permission: 'attendance:manage',
            action: 'attendance.period.sign_pending',
            target: { type: 'guild', id: guildId },
            outcome: 'success',
            after: { keyId: key.keyId, periodIndex: period.periodIndex },
          });
        });
      }
      return { sessions, periods: periods.length };
    });
  }

  async status(guildId: string) {
    const active = await this.keysRepo.activeKey(guildId);
    return {
      has_key: active !== null,
      locked: !this.unlocked.has(guildId),
      key_id: active?.id ?? null,
      pending_sessions: await this.sessionsRepo.countPendingSessions(guildId),
      pending_periods: (await this.periodsRepo.pendingPeriods(guildId)).length,
    };
  }

  async keyRing(guildId: string): Promise<KeyRing> {
    return KeyRing.from(publishedKeys(await this.keysRepo.guildKeys(guildId)));
  }

  async publicKeys(guildId: string) {
    const keys = publishedKeys(await this.keysRepo.guildKeys(guildId));
    return {
      algorithm: 'Ed25519' as const,
      active: keys.active ? { key_id: keys.active.keyId, public_key: keys.active.publicKey } : null,
      retired: keys.retired.map((k) => ({
        key_id: k.keyId,
        public_key: k.publicKey,
        retired_at: k.retiredAt!,
      })),
    };
  }

  /**
   * A stored session: signed, by a published key, over exactly what the row says. `ring`: the
   * guild's keys when the caller checks many sessions of one guild (read once).
   */
  async verifySession(row: VoiceSession, ring?: KeyRing): Promise<Verification> {
    if (!row.signedBytes || !row.signature || !row.keyId || !row.payloadHash)
      return { valid: false, reason: 'pending_signature' };
    const expected = preparePayload(receiptOf(row)).signedBytes;
    if (expected !== row.signedBytes) return { valid: false, reason: 'record_mismatch' };
    return this.verifyStored(row.guildId, row as SignedRecordRow, ring);
  }

  async verifyPeriod(row: AttendancePeriod): Promise<Verification> {
    if (!row.signedBytes || !row.signature || !row.keyId || !row.payloadHash)
      return { valid: false, reason: 'pending_signature' };
    if (row.snapshot !== row.signedBytes) return { valid: false, reason: 'record_mismatch' };
    return this.verifyStored(row.guildId, row as SignedRecordRow);
  }

  private async verifyStored(guildId: string, row: SignedRecordRow, keys?: KeyRing): Promise<Verification> {
    const ring = keys ?? (await this.keyRing(guildId));
    const result = await ring.verify({
      signedBytes: row.signedBytes,
      keyId: row.keyId,
      payloadHash: row.payloadHash,
      signature: row.signature,
    });
    return result.valid ? { valid: true, key_id: result.keyId } : { valid: false, reason: result.reason };
  }

  /** Audits an explicit verification asked for through the API (a POST). */
  async auditVerification(
    ctx: CallContext,
    guildId: string,
    target: { type: 'session' | 'period'; id: string },
    result: Verification,
  ): Promise<void> {
    await this.audit.recordAlone({
      actor: actorOf(ctx.principal),
      permission: 'attendance:read',
      action:
        target.type === 'session' ? 'attendance.signing.verify_session' : 'attendance.signing.verify_period',
      target: { type: target.type, id: `${guildId}/${target.id}` },
      scope: { guildId },
      outcome: 'success',
      after: result,
      context: ctx.request,
    });
  }

  ensureFound<T>(row: T | null, what: string): T {
    if (!row) throw notFound(what);
    return row;
  }
}

type SignedRecordRow = { signedBytes: string; signature: string; keyId: string; payloadHash: string };
