import type { Db, Provider, Tx } from '../../db/client.js';
import type { AuditEvent, Prisma } from '../../generated/sqlite/client.js';

export type AuditRow = AuditEvent;
export type NewAuditRow = Omit<AuditEvent, 'seq'>;

export interface AuditFilter {
  actorId?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  outcome?: string;
  permission?: string;
  from?: Date;
  to?: Date;
}

const CHAIN_LOCK_ID = 7_420_002;

export class AuditRepository {
  constructor(
    private readonly db: Db,
    private readonly provider: Provider,
  ) {}

  /** Serialises chain appends: concurrent transactions must not fork the chain. */
  async lockChain(tx: Tx): Promise<void> {
    if (this.provider === 'postgresql')
      await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${CHAIN_LOCK_ID})`);
  }

  async lastHash(tx: Tx): Promise<string | undefined> {
    const last = await tx.auditEvent.findFirst({ orderBy: { seq: 'desc' }, select: { hash: true } });
    return last?.hash;
  }

  async insert(tx: Tx, row: NewAuditRow): Promise<void> {
    await tx.auditEvent.create({ data: row });
  }

  private where(filter: AuditFilter): Prisma.AuditEventWhereInput {
    return {
      actorId: filter.actorId,
      action: filter.action,
      targetType: filter.targetType,
      targetId: filter.targetId,
      outcome: filter.outcome,
      permission: filter.permission,
      at: filter.from || filter.to ? { gte: filter.from, lt: filter.to } : undefined,
    };
  }

  /** Newest first; `beforeSeq` is the cursor. */
  list(filter: AuditFilter, limit: number, beforeSeq?: number): Promise<AuditRow[]> {
    return this.db.auditEvent.findMany({
      where: { ...this.where(filter), seq: beforeSeq === undefined ? undefined : { lt: beforeSeq } },
      orderBy: { seq: 'desc' },
      take: limit,
    });
  }

  get(id: string): Promise<AuditRow | null> {
    return this.db.auditEvent.findUnique({ where: { id } });
  }

  /** Oldest first, in pages, for chain verification. */
  page(afterSeq: number, limit: number): Promise<AuditRow[]> {
    return this.db.auditEvent.findMany({
      where: { seq: { gt: afterSeq } },
      orderBy: { seq: 'asc' },
      take: limit,
    });
  }

  count(filter: AuditFilter = {}): Promise<number> {
    return this.db.auditEvent.count({ where: this.where(filter) });
  }
}
