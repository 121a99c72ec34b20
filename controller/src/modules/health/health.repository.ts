/** Health events in the database: the only place the health module calls Prisma. */
import type { ScopeFilter } from '../../core/access-set.js';
import type { PagePosition } from '../../core/page-position.js';
import type { Db, Tx } from '../../db/client.js';
import type { HealthEvent, Prisma } from '../../db/rows.js';
import type { HealthFilter } from './health.schemas.js';

/** `node` is null for the controller's own fleet-wide events (audit_chain). */
export type HealthEventRow = HealthEvent & { node: { siteId: string } | null };
const withNode = { node: { select: { siteId: true } } } as const;
const NEWEST_FIRST = [{ createdAt: 'desc' }, { id: 'desc' }] as const;

/** An event is in scope when its node is; one with no node only for the whole fleet. */
function scopeWhere(filter: ScopeFilter): Prisma.HealthEventWhereInput {
  if (filter.all) return {};
  return { OR: [{ node: { siteId: { in: filter.siteIds } } }, { nodeId: { in: filter.nodeIds } }] };
}

/** The status as callers see it: a suppression whose time has passed is open. */
function statusWhere(status: HealthFilter['status'], now: Date): Prisma.HealthEventWhereInput {
  if (status === undefined) return {};
  if (status === 'open')
    return { OR: [{ status: 'open' }, { status: 'suppressed', suppressedUntil: { lte: now } }] };
  if (status === 'suppressed') return { status: 'suppressed', suppressedUntil: { gt: now } };
  return { status };
}

function filterWhere(filter: HealthFilter, now: Date): Prisma.HealthEventWhereInput {
  return {
    AND: [
      statusWhere(filter.status, now),
      filter.nodeId === undefined ? {} : { nodeId: filter.nodeId },
      filter.site === undefined ? {} : { node: { site: { name: filter.site } } },
      filter.type === undefined ? {} : { type: filter.type },
      filter.severity === undefined ? {} : { severity: filter.severity },
      filter.from === undefined ? {} : { lastSeenAt: { gte: new Date(filter.from) } },
      filter.to === undefined ? {} : { firstSeenAt: { lte: new Date(filter.to) } },
    ],
  };
}

function before(position: PagePosition | undefined): Prisma.HealthEventWhereInput {
  if (!position) return {};
  return {
    OR: [
      { createdAt: { lt: position.createdAt } },
      { createdAt: position.createdAt, id: { lt: position.id } },
    ],
  };
}

export class HealthRepository {
  constructor(private readonly db: Db) {}

  find(id: string, tx: Tx | Db = this.db): Promise<HealthEventRow | null> {
    return tx.healthEvent.findUnique({ where: { id }, include: withNode });
  }

  findMany(ids: string[], tx: Tx | Db = this.db): Promise<HealthEventRow[]> {
    return tx.healthEvent.findMany({
      where: { id: { in: ids } },
      include: withNode,
      orderBy: [...NEWEST_FIRST],
    });
  }

  list(
    scope: ScopeFilter,
    filter: HealthFilter,
    now: Date,
    limit: number,
    after?: PagePosition,
  ): Promise<HealthEventRow[]> {
    return this.db.healthEvent.findMany({
      where: { AND: [scopeWhere(scope), filterWhere(filter, now), before(after)] },
      orderBy: [...NEWEST_FIRST],
      take: limit,
      include: withNode,
    });
  }

  listByIds(ids: string[], scope: ScopeFilter): Promise<HealthEventRow[]> {
    return this.db.healthEvent.findMany({
      where: { AND: [{ id: { in: ids } }, scopeWhere(scope)] },
      orderBy: [...NEWEST_FIRST],
      include: withNode,
    });
  }

  /** Counts per (status, severity, type, node, suppression end), for facets. */
  async groups(scope: ScopeFilter, filter: HealthFilter, now: Date) {
    const groups = await this.db.healthEvent.groupBy({
      by: ['status', 'severity', 'type', 'nodeId', 'suppressedUntil'],
      where: { AND: [scopeWhere(scope), filterWhere(filter, now)] },
      _count: { _all: true },
    });
    return groups.map((g) => ({ ...g, count: g._count._all }));
  }

  /**
   * Events that still need someone (neither resolved nor suppressed now) by type and severity,
   * fleet-wide or on `nodeIds` (and, `withFleet`, those of no node): the open-events gauge and
   * the status counts.
   */
  async activeGroups(now: Date, nodeIds?: string[], withFleet = false) {
    const groups = await this.db.healthEvent.groupBy({
      by: ['type', 'severity'],
      where: {
        AND: [
          { status: { not: 'resolved' } },
          { NOT: { status: 'suppressed', suppressedUntil: { gt: now } } },
          nodeIds === undefined
            ? {}
            : withFleet
              ? { OR: [{ nodeId: { in: nodeIds } }, { nodeId: null }] }
              : { nodeId: { in: nodeIds } },
        ],
      },
      _count: { _all: true },
    });
    return groups.map((g) => ({ type: g.type, severity: g.severity, count: g._count._all }));
  }

  /**
   * The unresolved events of one type (the controller's own, e.g. node_offline), by node: one
   * query for the whole fleet (the node offline watch runs every few seconds).
   */
  async unresolvedByNode(
    type: string,
  ): Promise<Map<string, { id: string; firstSeenAt: Date; count: number }[]>> {
    const rows = await this.db.healthEvent.findMany({
      where: { type, status: { not: 'resolved' }, nodeId: { not: null } },
      select: { id: true, nodeId: true, firstSeenAt: true, count: true },
    });
    const byNode = new Map<string, { id: string; firstSeenAt: Date; count: number }[]>();
    for (const { nodeId, ...event } of rows) byNode.set(nodeId!, [...(byNode.get(nodeId!) ?? []), event]);
    return byNode;
  }

  create(tx: Tx, data: Prisma.HealthEventUncheckedCreateInput): Promise<HealthEventRow> {
    return tx.healthEvent.create({ data, include: withNode });
  }

  update(tx: Tx, id: string, data: Prisma.HealthEventUpdateInput): Promise<HealthEventRow> {
    return tx.healthEvent.update({ where: { id }, data, include: withNode });
  }
}
