import type { ScopeFilter } from '../../core/access-set.js';
import type { Db, Provider, Tx } from '../../db/client.js';
import type { Prisma, Recording, RecordingJob } from '../../db/rows.js';

export type JobRow = RecordingJob & { node: { siteId: string } };
export type JobWithRecording = RecordingJob & { recording: Recording; node: { siteId: string } };

/** Newest first; the cursor is the last row's (createdAt, id). */
export interface PagePosition {
  createdAt: Date;
  id: string;
}

const withScope = { node: { select: { siteId: true } } } as const;

/** Objects that inherit their node's scope: fleet, the node's site, or the node. */
type NodeOwnedWhere = { OR?: ({ node: { siteId: { in: string[] } } } | { nodeId: { in: string[] } })[] };
type BeforeWhere = { OR?: ({ createdAt: { lt: Date } } | { createdAt: Date; id: { lt: string } })[] };

export function nodeOwnedScopeWhere(filter: ScopeFilter): NodeOwnedWhere {
  if (filter.all) return {};
  return { OR: [{ node: { siteId: { in: filter.siteIds } } }, { nodeId: { in: filter.nodeIds } }] };
}

export function beforePosition(position: PagePosition | undefined): BeforeWhere {
  if (!position) return {};
  return {
    OR: [
      { createdAt: { lt: position.createdAt } },
      { createdAt: position.createdAt, id: { lt: position.id } },
    ],
  };
}

export class JobsRepository {
  constructor(
    private readonly db: Db,
    private readonly provider: Provider,
  ) {}

  create(tx: Tx, data: Prisma.RecordingJobUncheckedCreateInput): Promise<RecordingJob> {
    return tx.recordingJob.create({ data });
  }

  find(id: string): Promise<JobRow | null> {
    return this.db.recordingJob.findUnique({ where: { id }, include: withScope });
  }

  findInTx(tx: Tx, id: string): Promise<JobWithRecording | null> {
    return tx.recordingJob.findUnique({ where: { id }, include: { recording: true, ...withScope } });
  }

  /**
   * Takes the node's oldest queued job, atomically: one UPDATE whose subquery picks
   * the row. PostgreSQL locks it and lets concurrent claimers skip it (SKIP LOCKED);
   * SQLite serialises writers, so the plain statement is already exclusive. Returns
   * the claimed job's id; the caller sets the lease in the same transaction.
   */
  async claimNext(tx: Tx, nodeId: string): Promise<string | undefined> {
    const rows =
      this.provider === 'postgresql'
        ? await tx.$queryRaw<{ id: string }[]>`
            UPDATE "RecordingJob" SET "state" = 'claimed', "epoch" = "epoch" + 1
            WHERE "id" = (
              SELECT "id" FROM "RecordingJob"
              WHERE "nodeId" = ${nodeId} AND "state" = 'queued'
              ORDER BY "createdAt", "id" LIMIT 1
              FOR UPDATE SKIP LOCKED
            ) AND "state" = 'queued'
            RETURNING "id"`
        : await tx.$queryRaw<{ id: string }[]>`
            UPDATE "RecordingJob" SET "state" = 'claimed', "epoch" = "epoch" + 1
            WHERE "id" = (
              SELECT "id" FROM "RecordingJob"
              WHERE "nodeId" = ${nodeId} AND "state" = 'queued'
              ORDER BY "createdAt", "id" LIMIT 1
            ) AND "state" = 'queued'
            RETURNING "id"`;
    return rows[0]?.id;
  }

  update(tx: Tx, id: string, data: Prisma.RecordingJobUncheckedUpdateInput): Promise<RecordingJob> {
    return tx.recordingJob.update({ where: { id }, data });
  }

  /**
   * Compare-and-set on the fencing token: changes the job only while `epoch` is
   * current and the job is in one of `states`. False when it is not (stale lease).
   */
  async updateFenced(
    tx: Tx,
    id: string,
    epoch: number,
    states: readonly string[],
    data: Prisma.RecordingJobUncheckedUpdateInput,
  ): Promise<boolean> {
    const result = await tx.recordingJob.updateMany({
      where: { id, epoch, state: { in: [...states] } },
      data,
    });
    return result.count === 1;
  }

  /** Changes the job only while it is in one of `states` (user actions racing agent calls). */
  async updateIfState(
    tx: Tx,
    id: string,
    states: readonly string[],
    data: Prisma.RecordingJobUncheckedUpdateInput,
  ): Promise<boolean> {
    const result = await tx.recordingJob.updateMany({ where: { id, state: { in: [...states] } }, data });
    return result.count === 1;
  }

  list(
    filter: ScopeFilter,
    where: { nodeId?: string; state?: string },
    limit: number,
    after?: PagePosition,
  ): Promise<JobRow[]> {
    return this.db.recordingJob.findMany({
      where: { AND: [nodeOwnedScopeWhere(filter), where, beforePosition(after)] },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      include: withScope,
    });
  }

  async countByState(): Promise<Map<string, number>> {
    const groups = await this.db.recordingJob.groupBy({ by: ['state'], _count: { _all: true } });
    return new Map(groups.map((g) => [g.state, g._count._all]));
  }
}
