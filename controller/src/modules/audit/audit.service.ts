/**
 * The audit writer. `record` runs inside the caller's transaction, so the event and
 * the change commit or roll back together; `recordAlone` is for denials and failed
 * attempts, which change nothing else.
 */
import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../../db/client.js';
import type { AuditFilter, AuditRepository, AuditRow } from './audit.repository.js';
import type { AuditInput } from './audit.types.js';
import { GENESIS_HASH, hashAuditEvent } from './audit-hash.js';

const CHAIN_PAGE = 500;

export interface ChainReport {
  ok: boolean;
  checked: number;
  /** The first event whose link is broken, and why. */
  brokenAt?: { seq: number; id: string; reason: string };
}

function json(value: unknown): string | null {
  return value === undefined
    ? null
    : JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

export class AuditService {
  constructor(
    private readonly db: Db,
    private readonly repo: AuditRepository,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(tx: Tx, input: AuditInput): Promise<string> {
    await this.repo.lockChain(tx);
    const prevHash = (await this.repo.lastHash(tx)) ?? GENESIS_HASH;
    const row = {
      id: randomUUID(),
      // Millisecond precision survives both databases unchanged, so the hash re-verifies.
      at: new Date(Math.floor(this.now().getTime())),
      actorType: input.actor.type,
      actorId: input.actor.id ?? null,
      actorName: input.actor.name ?? null,
      permission: input.permission ?? null,
      action: input.action,
      targetType: input.target?.type ?? null,
      targetId: input.target?.id ?? null,
      outcome: input.outcome,
      reason: input.reason ?? null,
      before: json(input.before),
      after: json(input.after),
      requestId: input.context?.requestId ?? null,
      sourceIp: input.context?.sourceIp ?? null,
      prevHash,
    };
    await this.repo.insert(tx, { ...row, hash: hashAuditEvent(row) });
    return row.id;
  }

  recordAlone(input: AuditInput): Promise<string> {
    return this.db.$transaction((tx) => this.record(tx, input));
  }

  list(filter: AuditFilter, limit: number, beforeSeq?: number): Promise<AuditRow[]> {
    return this.repo.list(filter, limit, beforeSeq);
  }

  get(id: string): Promise<AuditRow | null> {
    return this.repo.get(id);
  }

  /** Walks the chain oldest first and reports the first broken link. */
  async verifyChain(): Promise<ChainReport> {
    let prevHash = GENESIS_HASH;
    let afterSeq = 0;
    let checked = 0;
    for (;;) {
      const page = await this.repo.page(afterSeq, CHAIN_PAGE);
      for (const row of page) {
        if (row.prevHash !== prevHash) {
          return {
            ok: false,
            checked,
            brokenAt: { seq: row.seq, id: row.id, reason: 'previous event missing or changed' },
          };
        }
        const { seq: _seq, hash, ...rest } = row;
        if (hashAuditEvent(rest) !== hash) {
          return {
            ok: false,
            checked,
            brokenAt: { seq: row.seq, id: row.id, reason: 'event content was edited' },
          };
        }
        prevHash = hash;
        checked++;
      }
      if (page.length < CHAIN_PAGE) return { ok: true, checked };
      afterSeq = page[page.length - 1]!.seq;
    }
  }
}
