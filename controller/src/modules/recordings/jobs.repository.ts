import type { ScopeFilter } from '../../core/access-set.js';
import { olderThan, type PagePosition } from '../../core/page-position.js';
import type { Db, Provider, Tx } from '../../db/client.js';
import type { RawDb, RawTx } from '../../db/raw.js';
import type { Prisma, Recording, RecordingJob } from '../../db/rows.js';

export type JobRow = RecordingJob & { node: { siteId: string } };
export type JobWithRecording = RecordingJob & { recording: Recording; node: { siteId: string } };

export type { PagePosition } from '../../core/page-position.js';

const withScope = { node: { select: { siteId: true } } } as const;

/** A job just claimed: what its lease hands the agent. */
export interface ClaimedJob {
  id: string;
  recordingId: string;
  nodeId: string;
  epoch: number;
  durationSeconds: number | null;
  stopRequested: boolean;
  sampleRate: number;
  channels: number;
  /** 1-based capture channels (a channel-map group's); null: every channel. */
  channelSelection: number[] | null;
}
type ClaimedRow = Omit<ClaimedJob, 'channelSelection'> & { channelSelection: string | null };

const CLAIMED_COLUMNS = `"id", "recordingId", "nodeId", "epoch", "durationSeconds", "stopRequested", "channelSelection",
  (SELECT "sampleRate" FROM "Recording" r WHERE r."id" = "RecordingJob"."recordingId") AS "sampleRate",
  (SELECT "channels" FROM "Recording" r WHERE r."id" = "RecordingJob"."recordingId") AS "channels"`;
const PG_CLAIM = `
  UPDATE "RecordingJob" SET "state" = 'claimed', "epoch" = "epoch" + 1,
    "claimedAt" = $2::timestamp(3), "leaseExpiresAt" = $3::timestamp(3)
  WHERE "id" = (
    SELECT "id" FROM "RecordingJob"
    WHERE "nodeId" = $1 AND "state" = 'queued' AND "plannedStartAt" IS NULL
    ORDER BY "createdAt", "id" LIMIT 1
    FOR UPDATE SKIP LOCKED
  ) AND "state" = 'queued'
  RETURNING ${CLAIMED_COLUMNS}`;
const SQLITE_CLAIM = `
  UPDATE "RecordingJob" SET "state" = 'claimed', "epoch" = "epoch" + 1,
    "claimedAt" = $2, "leaseExpiresAt" = $3
  WHERE "id" = (
    SELECT "id" FROM "RecordingJob"
    WHERE "nodeId" = $1 AND "state" = 'queued' AND "plannedStartAt" IS NULL
    ORDER BY "createdAt", "id" LIMIT 1
  ) AND "state" = 'queued'
  RETURNING ${CLAIMED_COLUMNS}`;

export type JobForControl = RecordingJob & {
  recording: Recording;
  node: { siteId: string; decommissionedAt: Date | null };
};

/** The list's filters: node, state, the node's site (by name), created in [from, to). */
export interface JobListFilter {
  nodeId?: string;
  state?: string;
  site?: string;
  from?: Date;
  to?: Date;
}

function jobListWhere(query: JobListFilter): Prisma.RecordingJobWhereInput {
  return {
    ...(query.nodeId === undefined ? {} : { nodeId: query.nodeId }),
    ...(query.state === undefined ? {} : { state: query.state }),
    ...(query.site === undefined ? {} : { node: { site: { name: query.site } } }),
    ...(query.from === undefined && query.to === undefined
      ? {}
      : {
          createdAt: {
            ...(query.from === undefined ? {} : { gte: query.from }),
            ...(query.to === undefined ? {} : { lt: query.to }),
          },
        }),
  };
}

/** Objects that inherit their node's scope: fleet, the node's site, or the node. */
type NodeOwnedWhere = { OR?: ({ node: { siteId: { in: string[] } } } | { nodeId: { in: string[] } })[] };

export function nodeOwnedScopeWhere(filter: ScopeFilter): NodeOwnedWhere {
  if (filter.all) return {};
  return { OR: [{ node: { siteId: { in: filter.siteIds } } }, { nodeId: { in: filter.nodeIds } }] };
}

export class JobsRepository {
  constructor(
    private readonly db: Db,
    private readonly provider: Provider,
    private readonly raw: RawDb,
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
   * Whether the node has a job claim-next would take: a read outside any transaction, so an
   * empty poll (most of a fleet's polls) writes nothing and takes no lock.
   */
  async hasClaimable(nodeId: string): Promise<boolean> {
    const rows = await this.raw.query(
      `SELECT 1 AS "one" FROM "RecordingJob"
       WHERE "nodeId" = $1 AND "state" = 'queued' AND "plannedStartAt" IS NULL LIMIT 1`,
      [nodeId],
    );
    return rows.length > 0;
  }

  /**
   * Takes the node's oldest queued job, atomically, and sets its lease: one UPDATE whose
   * subquery picks the row and whose RETURNING hands back what the lease needs (the
   * recording's format too). PostgreSQL locks the row and lets concurrent claimers skip it
   * (SKIP LOCKED); SQLite serialises writers, so the plain statement is already exclusive.
   * In a raw transaction (db/raw.ts): this path is the one a draining fleet takes most.
   */
  async claimNext(
    tx: RawTx,
    nodeId: string,
    lease: { claimedAt: Date; leaseExpiresAt: Date },
  ): Promise<ClaimedJob | undefined> {
    const rows = await tx.query<ClaimedRow>(this.provider === 'postgresql' ? PG_CLAIM : SQLITE_CLAIM, [
      nodeId,
      lease.claimedAt,
      lease.leaseExpiresAt,
    ]);
    const row = rows[0];
    if (!row) return undefined;
    return {
      id: row.id,
      recordingId: row.recordingId,
      nodeId: row.nodeId,
      epoch: row.epoch,
      durationSeconds: row.durationSeconds,
      stopRequested: row.stopRequested,
      sampleRate: row.sampleRate,
      channels: row.channels,
      channelSelection: row.channelSelection === null ? null : (JSON.parse(row.channelSelection) as number[]),
    };
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

  list(filter: ScopeFilter, query: JobListFilter, limit: number, after?: PagePosition): Promise<JobRow[]> {
    return this.db.recordingJob.findMany({
      where: { AND: [nodeOwnedScopeWhere(filter), jobListWhere(query), olderThan(after)] },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      include: withScope,
    });
  }

  /** How many jobs the list's filters select, by state and node (`GET /recording-jobs/facets`). */
  async facets(filter: ScopeFilter, query: JobListFilter) {
    const groups = await this.db.recordingJob.groupBy({
      by: ['state', 'nodeId'],
      where: { AND: [nodeOwnedScopeWhere(filter), jobListWhere(query)] },
      _count: { _all: true },
    });
    return groups.map((g) => ({ state: g.state, nodeId: g.nodeId, count: g._count._all }));
  }

  /** The jobs among `ids` inside the caller's scope, newest first (an export of a selection). */
  listByIds(filter: ScopeFilter, ids: string[]): Promise<JobRow[]> {
    return this.db.recordingJob.findMany({
      where: { AND: [nodeOwnedScopeWhere(filter), { id: { in: ids } }] },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      include: withScope,
    });
  }

  /** A job with its recording and what its node's state says about a new attempt. */
  findWithRecording(id: string): Promise<JobForControl | null> {
    return this.db.recordingJob.findUnique({
      where: { id },
      include: { recording: true, node: { select: { siteId: true, decommissionedAt: true } } },
    });
  }

  /** Jobs in one of `states` whose lease ran out before `now`. */
  listLeaseExpired(states: readonly string[], now: Date): Promise<RecordingJob[]> {
    return this.db.recordingJob.findMany({
      where: { state: { in: [...states] }, leaseExpiresAt: { lt: now } },
      orderBy: { leaseExpiresAt: 'asc' },
      take: 500,
    });
  }

  async countByState(): Promise<Map<string, number>> {
    const groups = await this.db.recordingJob.groupBy({ by: ['state'], _count: { _all: true } });
    return new Map(groups.map((g) => [g.state, g._count._all]));
  }
}
