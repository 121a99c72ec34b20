import type { ScopeFilter } from '../../core/access-set.js';
import type { AuditScope } from '../../core/audit.types.js';
import type { Db, Provider, Tx } from '../../db/client.js';
import type { RawTx, SqlValue } from '../../db/raw.js';
import type { AuditEvent, Prisma } from '../../db/rows.js';

export type AuditRow = AuditEvent;
export type NewAuditRow = Omit<AuditEvent, 'seq'>;
/** Where an event belongs: what decides who may read it (its sites, nodes and guilds). */
export type AuditPlace = Pick<AuditEvent, 'seq' | 'siteId' | 'nodeId' | 'guildId'>;

export interface AuditFilter {
  actorId?: string;
  actorType?: string;
  actorName?: string;
  action?: string;
  /** Actions starting with this (e.g. `auth.`); the service resolves it to `actionIn`. */
  actionPrefix?: string;
  /** Any of these actions. */
  actionIn?: string[];
  targetType?: string;
  targetId?: string;
  outcome?: string;
  permission?: string;
  requestId?: string;
  from?: Date;
  to?: Date;
  /** Only events in the caller's scope (their site, node or guild); fleet-wide events need `all`. */
  scope?: ScopeFilter;
}

/** What an export covers: the events matching a filter, or the selected ids (within `scope`). */
export type AuditSelection = { filter: AuditFilter } | { ids: string[]; scope?: ScopeFilter };

/** The where-clause that keeps an auditor to its scope; undefined for the whole fleet. */
/** Ids per `IN (…)` list of a selected export, well under SQLite's 999 parameters with the scope's. */
const ID_CHUNK = 400;

export function scopeWhere(scope: ScopeFilter | undefined): Prisma.AuditEventWhereInput | undefined {
  if (!scope || scope.all) return undefined;
  return {
    OR: [
      { siteId: { in: scope.siteIds } },
      { nodeId: { in: scope.nodeIds } },
      { guildId: { in: scope.guildIds } },
    ],
  };
}

export const FACET_FIELDS = ['action', 'outcome', 'actorType', 'permission', 'targetType'] as const;
export type FacetField = (typeof FACET_FIELDS)[number];
export type FacetCount = { value: string | null; count: number };

const CHAIN_LOCK_ID = 7_420_002;

/** The columns an append writes, in order (`seq` is the database's). */
const EVENT_COLUMNS = [
  'id',
  'at',
  'actorType',
  'actorId',
  'actorName',
  'permission',
  'action',
  'targetType',
  'targetId',
  'outcome',
  'reason',
  'before',
  'after',
  'requestId',
  'sourceIp',
  'siteId',
  'nodeId',
  'guildId',
] as const;
const EVENT_COLUMN_LIST = EVENT_COLUMNS.map((c) => `"${c}"`).join(', ');
const HEAD = `(SELECT "hash" FROM "AuditEvent" ORDER BY "seq" DESC LIMIT 1)`;
const n = EVENT_COLUMNS.length;
/** SQLite, raw: the row only while the head is the one its prevHash names (as `append`). */
const SQLITE_RAW_APPEND = `
  INSERT INTO "AuditEvent" (${EVENT_COLUMN_LIST}, "prevHash", "hash")
  SELECT ${EVENT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}, $${n + 1}, $${n + 2}
  WHERE COALESCE(${HEAD}, $${n + 3}) = $${n + 1}`;
/**
 * PostgreSQL, raw, under the chain lock taken by the statement before it (so this statement's
 * snapshot sees every append committed before the lock was granted): the head is read and the
 * hash computed here, as hashAuditEvent does: sha256(prevHash || '\n' || canonical fields).
 */
const PG_RAW_APPEND = `
  INSERT INTO "AuditEvent" (${EVENT_COLUMN_LIST}, "prevHash", "hash")
  SELECT ${EVENT_COLUMNS.map((c, i) => (c === 'at' ? `$${i + 1}::timestamp(3)` : `$${i + 1}::text`)).join(', ')},
    head."prev", encode(sha256(convert_to(head."prev" || E'\n' || $${n + 1}::text, 'UTF8')), 'hex')
  FROM (SELECT COALESCE(${HEAD}, $${n + 2}::text) AS "prev") head
  RETURNING "hash"`;

function eventValues(row: Omit<NewAuditRow, 'prevHash' | 'hash'>): SqlValue[] {
  return EVENT_COLUMNS.map((c) => row[c]);
}

export class AuditRepository {
  constructor(
    private readonly db: Db,
    readonly provider: Provider,
  ) {}

  /** Serialises chain appends: concurrent transactions must not fork the chain. */
  async lockChain(tx: Tx): Promise<void> {
    if (this.provider === 'postgresql')
      await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${CHAIN_LOCK_ID})`);
  }

  async lastHash(tx: Tx): Promise<string | undefined> {
    const rows = await tx.$queryRaw<{ hash: string }[]>`
      SELECT "hash" FROM "AuditEvent" ORDER BY "seq" DESC LIMIT 1`;
    return rows[0]?.hash;
  }

  /**
   * Appends `row` only while the chain's last event is the one `row.prevHash` names (or the
   * chain is empty and it names the genesis), checked by the same statement; false when
   * another writer moved the head (a rolled-back append, another replica). One statement,
   * raw SQL: a fraction of the model API's cost on this path, which every change takes.
   */
  async append(tx: Tx, row: NewAuditRow, genesisHash: string): Promise<boolean> {
    const inserted =
      this.provider === 'postgresql'
        ? await tx.$executeRaw`
            INSERT INTO "AuditEvent" ("id", "at", "actorType", "actorId", "actorName", "permission",
              "action", "targetType", "targetId", "outcome", "reason", "before", "after", "requestId",
              "sourceIp", "siteId", "nodeId", "guildId", "prevHash", "hash")
            SELECT ${row.id}::text, ${row.at}::timestamp(3), ${row.actorType}::text, ${row.actorId}::text,
              ${row.actorName}::text, ${row.permission}::text, ${row.action}::text, ${row.targetType}::text,
              ${row.targetId}::text, ${row.outcome}::text, ${row.reason}::text, ${row.before}::text,
              ${row.after}::text, ${row.requestId}::text, ${row.sourceIp}::text, ${row.siteId}::text,
              ${row.nodeId}::text, ${row.guildId}::text, ${row.prevHash}::text, ${row.hash}::text
            WHERE COALESCE((SELECT "hash" FROM "AuditEvent" ORDER BY "seq" DESC LIMIT 1), ${genesisHash}::text)
              = ${row.prevHash}::text`
        : await tx.$executeRaw`
            INSERT INTO "AuditEvent" ("id", "at", "actorType", "actorId", "actorName", "permission",
              "action", "targetType", "targetId", "outcome", "reason", "before", "after", "requestId",
              "sourceIp", "siteId", "nodeId", "guildId", "prevHash", "hash")
            SELECT ${row.id}, ${row.at}, ${row.actorType}, ${row.actorId}, ${row.actorName},
              ${row.permission}, ${row.action}, ${row.targetType}, ${row.targetId}, ${row.outcome},
              ${row.reason}, ${row.before}, ${row.after}, ${row.requestId}, ${row.sourceIp},
              ${row.siteId}, ${row.nodeId}, ${row.guildId}, ${row.prevHash}, ${row.hash}
            WHERE COALESCE((SELECT "hash" FROM "AuditEvent" ORDER BY "seq" DESC LIMIT 1), ${genesisHash})
              = ${row.prevHash}`;
    return inserted === 1;
  }

  /** SQLite, in a raw transaction: `append` (the head checked in the statement). */
  async appendRaw(tx: RawTx, row: NewAuditRow, genesisHash: string): Promise<boolean> {
    const params = [...eventValues(row), row.prevHash, row.hash, genesisHash];
    return (await tx.execute(SQLITE_RAW_APPEND, params)) === 1;
  }

  async lastHashRaw(tx: RawTx): Promise<string | undefined> {
    const rows = await tx.query<{ hash: string }>(
      'SELECT "hash" FROM "AuditEvent" ORDER BY "seq" DESC LIMIT 1',
    );
    return rows[0]?.hash;
  }

  /**
   * PostgreSQL, in a raw transaction, as its last statements: takes the chain lock, appends
   * the event after the head it then reads, hashing in SQL, and commits, in one round trip;
   * the lock is held only while the server runs them. Returns the new head.
   */
  async appendAndCommitRaw(
    tx: RawTx,
    event: Omit<NewAuditRow, 'prevHash' | 'hash'>,
    canonical: string,
    genesisHash: string,
  ): Promise<string> {
    const [, rows] = await Promise.all([
      tx.query(`SELECT pg_advisory_xact_lock(${CHAIN_LOCK_ID})`),
      tx.queryAndCommit<{ hash: string }>(PG_RAW_APPEND, [...eventValues(event), canonical, genesisHash]),
    ]);
    const hash = rows[0]?.hash;
    if (!hash) throw new Error('the audit append wrote no row');
    return hash;
  }

  /** The site, node or guild an event's target belongs to (nothing for fleet-wide targets). */
  async scopeOf(
    tx: Tx,
    target: { type: string; id?: string | null } | null | undefined,
  ): Promise<AuditScope> {
    const id = target?.id;
    if (!target || !id) return {};
    switch (target.type) {
      case 'node': {
        const node = await tx.node.findUnique({ where: { id }, select: { siteId: true } });
        return node ? { nodeId: id, siteId: node.siteId } : {};
      }
      case 'recording': {
        const row = await tx.recording.findUnique({
          where: { id },
          select: { nodeId: true, node: { select: { siteId: true } } },
        });
        return row ? { nodeId: row.nodeId, siteId: row.node.siteId } : {};
      }
      case 'recording_job': {
        const row = await tx.recordingJob.findUnique({
          where: { id },
          select: { nodeId: true, node: { select: { siteId: true } } },
        });
        return row ? { nodeId: row.nodeId, siteId: row.node.siteId } : {};
      }
      case 'health_event': {
        const row = await tx.healthEvent.findUnique({
          where: { id },
          select: { nodeId: true, node: { select: { siteId: true } } },
        });
        // An event of no node (the controller's own, audit_chain) is fleet-wide.
        return row?.node ? { nodeId: row.nodeId, siteId: row.node.siteId } : {};
      }
      case 'guild':
        return { guildId: id };
      default:
        return {};
    }
  }

  private where(filter: AuditFilter): Prisma.AuditEventWhereInput {
    if (filter.actionPrefix !== undefined && filter.actionIn === undefined)
      throw new Error('resolve actionPrefix with actionsStartingWith first');
    const action =
      filter.action !== undefined || filter.actionIn !== undefined
        ? { equals: filter.action, in: filter.actionIn }
        : undefined;
    return {
      actorId: filter.actorId,
      actorType: filter.actorType,
      actorName: filter.actorName,
      action,
      requestId: filter.requestId,
      targetType: filter.targetType,
      targetId: filter.targetId,
      outcome: filter.outcome,
      permission: filter.permission,
      at: filter.from || filter.to ? { gte: filter.from, lt: filter.to } : undefined,
      ...scopeWhere(filter.scope),
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

  /**
   * Newest first, below `beforeSeq` and at most `upToSeq`: one page of an export. A selection
   * of ids is read in chunks (SQLite's driver takes at most 999 parameters a statement) and
   * merged, newest first.
   */
  async exportPage(
    selection: AuditSelection,
    upToSeq: number,
    limit: number,
    beforeSeq?: number,
  ): Promise<AuditRow[]> {
    const seq = { lte: upToSeq, ...(beforeSeq === undefined ? {} : { lt: beforeSeq }) };
    if (!('ids' in selection))
      return this.db.auditEvent.findMany({
        where: { ...this.where(selection.filter), seq },
        orderBy: { seq: 'desc' },
        take: limit,
      });
    const rows: AuditRow[] = [];
    for (let i = 0; i < selection.ids.length; i += ID_CHUNK)
      rows.push(
        ...(await this.db.auditEvent.findMany({
          where: { id: { in: selection.ids.slice(i, i + ID_CHUNK) }, ...scopeWhere(selection.scope), seq },
          orderBy: { seq: 'desc' },
          take: limit,
        })),
      );
    return rows.sort((a, b) => b.seq - a.seq).slice(0, limit);
  }

  async maxSeq(): Promise<number> {
    const result = await this.db.auditEvent.aggregate({ _max: { seq: true } });
    return result._max.seq ?? 0;
  }

  /**
   * The distinct actions that start with `prefix`, exactly. Prisma's startsWith is a
   * LIKE that leaves `_` and `%` live (prisma/orm#19506) and SQLite has no default
   * escape, so the database narrows and the exact test runs here; actions are a small,
   * code-defined set.
   */
  async actionsStartingWith(prefix: string, scope?: ScopeFilter): Promise<string[]> {
    const groups = await this.db.auditEvent.groupBy({
      by: ['action'],
      where: { action: { startsWith: prefix }, ...scopeWhere(scope) },
    });
    return groups.map((g) => g.action).filter((action) => action.startsWith(prefix));
  }

  /** Event counts per value of `field` among the events matching `filter`, largest first. */
  async facet(field: FacetField, filter: AuditFilter, limit: number): Promise<FacetCount[]> {
    // One field at a time keeps Prisma's groupBy types concrete.
    const groups = (await this.db.auditEvent.groupBy({
      by: [field],
      where: this.where(filter),
      _count: { _all: true },
    })) as unknown as (Record<FacetField, string | null> & { _count: { _all: number } })[];
    return groups
      .map((g) => ({ value: g[field], count: g._count._all }))
      .sort((a, b) => b.count - a.count || String(a.value).localeCompare(String(b.value)))
      .slice(0, limit);
  }

  get(id: string): Promise<AuditRow | null> {
    return this.db.auditEvent.findUnique({ where: { id } });
  }

  /** The places of the events after `afterSeq`, oldest first (the live events' audit notices). */
  placesAfter(afterSeq: number, limit: number): Promise<AuditPlace[]> {
    return this.db.auditEvent.findMany({
      where: { seq: { gt: afterSeq } },
      orderBy: { seq: 'asc' },
      take: limit,
      select: { seq: true, siteId: true, nodeId: true, guildId: true },
    });
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
