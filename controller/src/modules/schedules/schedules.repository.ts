import type { ScopeFilter } from '../../core/access-set.js';
import { olderThan, type PagePosition } from '../../core/page-position.js';
import type { Db, Tx } from '../../db/client.js';
import type { Prisma, RecordingJob, Schedule, ScheduleTarget } from '../../db/rows.js';
import type { ScheduleFilter } from './schedules.schemas.js';

export type TargetNode = {
  name: string;
  siteId: string;
  sampleRate: number;
  channels: number;
  decommissionedAt: Date | null;
  /** The node's recording profile (its pre/post roll widens the node's windows). */
  recordingProfileId: string | null;
};
export type ScheduleRow = Schedule & { targets: (ScheduleTarget & { node: TargetNode })[] };

const withTargets = {
  targets: {
    include: {
      node: {
        select: {
          name: true,
          siteId: true,
          sampleRate: true,
          channels: true,
          decommissionedAt: true,
          recordingProfileId: true,
        },
      },
    },
    orderBy: { nodeId: 'asc' },
  },
} as const;

export type { PagePosition as SchedulePosition } from '../../core/page-position.js';

/** A schedule is in scope when every node it records on is. */
export function scheduleScopeWhere(filter: ScopeFilter): Prisma.ScheduleWhereInput {
  if (filter.all) return {};
  return {
    targets: {
      every: { OR: [{ node: { siteId: { in: filter.siteIds } } }, { nodeId: { in: filter.nodeIds } }] },
    },
  };
}

function filterWhere(filter: ScheduleFilter): Prisma.ScheduleWhereInput {
  return {
    ...(filter.enabled === undefined ? {} : { enabled: filter.enabled }),
    ...(filter.timeZone === undefined ? {} : { timeZone: filter.timeZone }),
    ...(filter.q === undefined ? {} : { name: { contains: filter.q } }),
    ...(filter.nodeId === undefined ? {} : { targets: { some: { nodeId: filter.nodeId } } }),
  };
}

export class SchedulesRepository {
  constructor(private readonly db: Db) {}

  find(id: string, tx: Tx | Db = this.db): Promise<ScheduleRow | null> {
    return tx.schedule.findUnique({ where: { id }, include: withTargets });
  }

  findMany(ids: string[], scope: ScopeFilter): Promise<ScheduleRow[]> {
    return this.db.schedule.findMany({
      where: { AND: [{ id: { in: ids } }, scheduleScopeWhere(scope)] },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      include: withTargets,
    });
  }

  list(
    scope: ScopeFilter,
    filter: ScheduleFilter,
    limit: number,
    after?: PagePosition,
  ): Promise<ScheduleRow[]> {
    return this.db.schedule.findMany({
      where: { AND: [scheduleScopeWhere(scope), filterWhere(filter), olderThan(after)] },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      include: withTargets,
    });
  }

  /** Every schedule matching, for facets (schedules are few: hundreds, not millions). */
  listAll(scope: ScopeFilter, filter: ScheduleFilter): Promise<ScheduleRow[]> {
    return this.db.schedule.findMany({
      where: { AND: [scheduleScopeWhere(scope), filterWhere(filter)] },
      include: withTargets,
    });
  }

  create(
    tx: Tx,
    data: Omit<Prisma.ScheduleUncheckedCreateInput, 'targets'>,
    targets: { nodeId: string; channels: string | null }[],
  ): Promise<ScheduleRow> {
    return tx.schedule.create({ data: { ...data, targets: { create: targets } }, include: withTargets });
  }

  async update(
    tx: Tx,
    id: string,
    data: Prisma.ScheduleUncheckedUpdateInput,
    targets?: { nodeId: string; channels: string | null }[],
  ): Promise<ScheduleRow> {
    if (targets) {
      await tx.scheduleTarget.deleteMany({ where: { scheduleId: id } });
      await tx.scheduleTarget.createMany({ data: targets.map((t) => ({ ...t, scheduleId: id })) });
    }
    return tx.schedule.update({ where: { id }, data, include: withTargets });
  }

  /**
   * Holds the schedules' rows until the transaction ends, taken in id order so two replicas
   * never deadlock (PostgreSQL; SQLite has one writer).
   */
  async lock(tx: Tx, ids: string[], provider: 'sqlite' | 'postgresql'): Promise<void> {
    if (provider === 'postgresql')
      await tx.$queryRaw`SELECT "id" FROM "Schedule" WHERE "id" = ANY(${[...ids].sort()}) ORDER BY "id" FOR UPDATE`;
  }

  findManyInTx(tx: Tx, ids: string[]): Promise<ScheduleRow[]> {
    return tx.schedule.findMany({ where: { id: { in: ids } }, include: withTargets });
  }

  async setMaterialisedUntil(tx: Tx, ids: string[], until: Date): Promise<void> {
    await tx.schedule.updateMany({ where: { id: { in: ids } }, data: { materializedUntil: until } });
  }

  delete(tx: Tx, id: string): Promise<Schedule> {
    return tx.schedule.delete({ where: { id } });
  }

  /** Enabled schedules whose occurrences are materialised less far than `until`. */
  listDue(until: Date, limit: number): Promise<ScheduleRow[]> {
    return this.db.schedule.findMany({
      where: { enabled: true, OR: [{ materializedUntil: null }, { materializedUntil: { lt: until } }] },
      orderBy: [{ materializedUntil: 'asc' }, { id: 'asc' }],
      take: limit,
      include: withTargets,
    });
  }

  /** The recording profile each of `nodeIds` names (null: none). */
  async nodeProfiles(nodeIds: string[]): Promise<Map<string, string | null>> {
    const rows = await this.db.node.findMany({
      where: { id: { in: nodeIds } },
      select: { id: true, recordingProfileId: true },
    });
    return new Map(rows.map((row) => [row.id, row.recordingProfileId]));
  }

  /** Every enabled schedule's id with its target nodes (the runner's profile-change check). */
  async enabledTargets(): Promise<{ id: string; nodeIds: string[] }[]> {
    const rows = await this.db.schedule.findMany({
      where: { enabled: true },
      select: { id: true, targets: { select: { nodeId: true } } },
      orderBy: { id: 'asc' },
    });
    return rows.map((row) => ({ id: row.id, nodeIds: row.targets.map((t) => t.nodeId) }));
  }

  /** The jobs of the schedule's occurrences that start in [from, to). */
  jobsBetween(scheduleId: string, from: Date, to: Date): Promise<RecordingJob[]> {
    return this.db.recordingJob.findMany({
      where: { scheduleId, occurrenceStart: { gte: from, lt: to } },
      orderBy: [{ occurrenceStart: 'asc' }, { nodeId: 'asc' }, { part: 'asc' }],
    });
  }
}
