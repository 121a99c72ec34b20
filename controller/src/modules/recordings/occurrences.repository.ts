/**
 * Scheduled occurrences as rows: a recording and its job per (schedule, node, occurrence start,
 * part). Their ids derive from that key, so every controller that materialises the same
 * occurrence writes the same rows and a second write is a no-op (ON CONFLICT DO NOTHING on
 * PostgreSQL; SQLite has one writer, so existing keys are filtered first).
 */
import { createHash } from 'node:crypto';
import type { Db, Provider, Tx } from '../../db/client.js';
import type { Prisma, Recording, RecordingJob } from '../../db/rows.js';

/** One occurrence on one node, as the schedules module plans it. */
export interface OccurrencePlan {
  scheduleId: string;
  nodeId: string;
  title: string;
  occurrenceStart: Date;
  plannedStartAt: Date;
  plannedEndAt: Date;
  sampleRate: number;
  channels: number;
  /** 1-based capture channels; null = all. */
  channelSelection: number[] | null;
  /** Run now: claimed like an ad-hoc job (no planned start), not held ahead by the node. */
  immediate?: boolean;
}

export type OccurrenceJob = RecordingJob & {
  recording: Pick<Recording, 'sampleRate' | 'channels' | 'title'>;
  schedule: { name: string } | null;
};

/** A UUID-shaped id from a key: the same occurrence always gets the same ids. */
export function derivedId(kind: 'recording' | 'job', key: string): string {
  const hex = createHash('sha256').update(`${kind}|${key}`).digest('hex');
  // Version 8 (custom) and the RFC 9562 variant, so it passes as a UUID everywhere.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((Number.parseInt(hex[16]!, 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function occurrenceKey(
  plan: Pick<OccurrencePlan, 'scheduleId' | 'nodeId' | 'occurrenceStart'>,
): string {
  return `${plan.scheduleId}|${plan.nodeId}|${plan.occurrenceStart.toISOString()}`;
}

const withFormat = {
  recording: { select: { sampleRate: true, channels: true, title: true } },
  schedule: { select: { name: true } },
} as const;

export class OccurrencesRepository {
  constructor(
    private readonly db: Db,
    private readonly provider: Provider,
  ) {}

  /** Creates the plans' rows that do not exist yet; returns how many it created. */
  async insertMissing(tx: Tx, plans: OccurrencePlan[], now: Date): Promise<number> {
    if (plans.length === 0) return 0;
    let missing = plans;
    if (this.provider === 'sqlite') {
      const ids = plans.map((p) => derivedId('job', occurrenceKey(p)));
      const existing = await tx.recordingJob.findMany({ where: { id: { in: ids } }, select: { id: true } });
      const have = new Set(existing.map((row) => row.id));
      missing = plans.filter((_, i) => !have.has(ids[i]!));
      if (missing.length === 0) return 0;
    }
    // The row types come from the SQLite client, which has no skipDuplicates; PostgreSQL's does.
    const skipDuplicates = (this.provider === 'postgresql' ? { skipDuplicates: true } : {}) as object;
    await tx.recording.createMany({
      data: missing.map((p) => ({
        id: derivedId('recording', occurrenceKey(p)),
        nodeId: p.nodeId,
        title: p.title,
        state: 'pending',
        sampleRate: p.sampleRate,
        channels: p.channelSelection?.length ?? p.channels,
        plannedStartAt: p.plannedStartAt,
        createdAt: now,
      })),
      ...skipDuplicates,
    });
    const created = await tx.recordingJob.createMany({
      data: missing.map((p) => {
        const key = occurrenceKey(p);
        return {
          id: derivedId('job', key),
          nodeId: p.nodeId,
          recordingId: derivedId('recording', key),
          state: 'queued',
          durationSeconds: Math.round((p.plannedEndAt.getTime() - p.plannedStartAt.getTime()) / 1000),
          scheduleId: p.scheduleId,
          occurrenceStart: p.occurrenceStart,
          plannedStartAt: p.immediate ? null : p.plannedStartAt,
          plannedEndAt: p.immediate ? null : p.plannedEndAt,
          channelSelection: p.channelSelection ? JSON.stringify(p.channelSelection) : null,
          createdAt: now,
        };
      }),
      ...skipDuplicates,
    });
    return created.count;
  }

  /** The schedules' occurrences that have not started and plan to start after `from`. */
  listUnstarted(tx: Tx, scheduleIds: string[], from: Date): Promise<RecordingJob[]> {
    return tx.recordingJob.findMany({
      where: {
        scheduleId: { in: scheduleIds },
        part: 1,
        state: { in: ['queued', 'claimed'] },
        startedAt: null,
        plannedStartAt: { gt: from },
      },
    });
  }

  /** Removes unstarted occurrences (their recordings; the jobs go with them). */
  async removeUnstarted(tx: Tx, jobs: Pick<RecordingJob, 'id' | 'recordingId'>[]): Promise<void> {
    if (jobs.length === 0) return;
    await tx.recording.deleteMany({
      where: { id: { in: jobs.map((j) => j.recordingId) }, job: { is: { startedAt: null } } },
    });
  }

  updatePlan(tx: Tx, jobId: string, data: Prisma.RecordingJobUncheckedUpdateInput): Promise<RecordingJob> {
    return tx.recordingJob.update({ where: { id: jobId }, data });
  }

  /** The node's queued scheduled occurrences that start before `horizon` and have not ended (to lease them). */
  listQueuedForNode(tx: Tx, nodeId: string, now: Date, horizon: Date): Promise<RecordingJob[]> {
    return tx.recordingJob.findMany({
      where: {
        nodeId,
        state: 'queued',
        plannedStartAt: { not: null, lt: horizon },
        plannedEndAt: { gt: now },
      },
      orderBy: { plannedStartAt: 'asc' },
    });
  }

  /** Scheduled occurrences still queued after their window ended (no node took them). */
  listQueuedEnded(now: Date): Promise<RecordingJob[]> {
    return this.db.recordingJob.findMany({
      where: { state: 'queued', plannedStartAt: { not: null }, plannedEndAt: { lte: now } },
      orderBy: { plannedEndAt: 'asc' },
      take: 500,
    });
  }

  /** Every scheduled occurrence the node holds that has not ended, by planned start. */
  listHeld(tx: Tx | Db, nodeId: string, now: Date, horizon: Date): Promise<OccurrenceJob[]> {
    return tx.recordingJob.findMany({
      where: {
        nodeId,
        part: 1,
        state: { in: ['claimed', 'recording', 'lost_contact'] },
        plannedStartAt: { not: null, lt: horizon },
        plannedEndAt: { gt: now },
      },
      orderBy: [{ plannedStartAt: 'asc' }, { id: 'asc' }],
      include: withFormat,
    });
  }

  /** The jobs of one occurrence (all nodes, first parts). */
  listOccurrence(scheduleId: string, occurrenceStart: Date): Promise<RecordingJob[]> {
    return this.db.recordingJob.findMany({
      where: { scheduleId, occurrenceStart, part: 1 },
      orderBy: { nodeId: 'asc' },
    });
  }

  /** A job's continuation parts and the job itself (the root), by part. */
  listParts(tx: Tx | Db, rootJobId: string): Promise<RecordingJob[]> {
    return tx.recordingJob.findMany({
      where: { OR: [{ id: rootJobId }, { parentJobId: rootJobId }] },
      orderBy: { part: 'asc' },
    });
  }
}
