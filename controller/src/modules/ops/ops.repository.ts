/** The operational event log, the health samples and the figures read for them: the only place the ops module calls Prisma. */
import { performance } from 'node:perf_hooks';
import type { PagePosition } from '../../core/page-position.js';
import type { Db } from '../../db/client.js';
import type { HealthSample, OpsEvent, Prisma } from '../../db/rows.js';
import { isUniqueViolation } from '../../db/unique.js';
import { ACTIVE_JOB_STATES } from '../recordings/index.js';

export type OpsEventRow = OpsEvent;
export type HealthSampleRow = HealthSample;

export interface OpsEventQuery {
  kinds?: string[];
  levels?: string[];
  since?: Date;
  until?: Date;
}

const NEWEST_FIRST = [{ at: 'desc' }, { id: 'desc' }] as const;

export class OpsRepository {
  constructor(private readonly db: Db) {}

  async addEvent(event: Prisma.OpsEventCreateInput): Promise<void> {
    await this.db.opsEvent.create({ data: event });
  }

  listEvents(query: OpsEventQuery, limit: number, after?: PagePosition): Promise<OpsEventRow[]> {
    const where: Prisma.OpsEventWhereInput[] = [];
    if (query.kinds) where.push({ kind: { in: query.kinds } });
    if (query.levels) where.push({ level: { in: query.levels } });
    if (query.since) where.push({ at: { gte: query.since } });
    if (query.until) where.push({ at: { lte: query.until } });
    if (after)
      where.push({ OR: [{ at: { lt: after.createdAt } }, { at: after.createdAt, id: { lt: after.id } }] });
    return this.db.opsEvent.findMany({ where: { AND: where }, orderBy: [...NEWEST_FIRST], take: limit });
  }

  /** Stores the minute's sample unless a replica already did: true when this one was stored. */
  async addSampleIfAbsent(sample: HealthSampleRow): Promise<boolean> {
    try {
      await this.db.healthSample.create({ data: sample });
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** Samples from `from` to `to` (inclusive), oldest first, after the minute `after`. */
  listSamples(range: { from?: Date; to?: Date; after?: Date }, limit: number): Promise<HealthSampleRow[]> {
    const minute: Prisma.DateTimeFilter = {};
    if (range.from) minute.gte = range.from;
    if (range.to) minute.lte = range.to;
    if (range.after) minute.gt = range.after;
    return this.db.healthSample.findMany({ where: { minute }, orderBy: { minute: 'asc' }, take: limit });
  }

  /** Removes the samples before `cutoff`; how many. */
  async pruneSamples(cutoff: Date): Promise<number> {
    return (await this.db.healthSample.deleteMany({ where: { minute: { lt: cutoff } } })).count;
  }

  /** Removes the operational events before `cutoff`; how many. */
  async pruneEvents(cutoff: Date): Promise<number> {
    return (await this.db.opsEvent.deleteMany({ where: { at: { lt: cutoff } } })).count;
  }

  /** Whether the database answers, and how long a round trip took. */
  async ping(): Promise<{ reachable: boolean; latencyMs: number | null }> {
    const started = performance.now();
    try {
      await this.db.$queryRawUnsafe('SELECT 1');
      return { reachable: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
    } catch {
      return { reachable: false, latencyMs: null };
    }
  }

  /** Work waiting in the controller's queues, fleet-wide. */
  async queueDepths() {
    const [queued, active, uploads, webhooks, notifications] = await Promise.all([
      this.db.recordingJob.count({ where: { state: 'queued' } }),
      this.db.recordingJob.count({ where: { state: { in: [...ACTIVE_JOB_STATES] } } }),
      this.db.uploadQueueItem.groupBy({
        by: ['state'],
        where: { state: { in: ['queued', 'uploading', 'failed'] } },
        _count: { _all: true },
      }),
      this.db.webhookDelivery.count({ where: { status: 'pending' } }),
      this.db.notificationDelivery.count({ where: { status: 'pending' } }),
    ]);
    const byState = new Map(uploads.map((u) => [u.state, u._count._all]));
    return {
      recordingJobs: { queued, active },
      uploadQueue: {
        queued: byState.get('queued') ?? 0,
        uploading: byState.get('uploading') ?? 0,
        failed: byState.get('failed') ?? 0,
      },
      webhookDeliveriesPending: webhooks,
      notificationDeliveriesPending: notifications,
    };
  }
}
