/**
 * Scheduled occurrences (docs/architecture.md, flow 2b): the schedules module plans them, this
 * service keeps them as recording jobs ahead of time (reconcile), leases them to their node in
 * advance so the agent can record them with no controller (sync), and registers the part an
 * agent records after a restart inside a job's window, or the next segment of a recording its
 * profile splits (continuePart).
 */
import type {
  ContinuationBody,
  JobLease,
  OccurrenceSyncResult,
  ScheduledOccurrence,
} from '../../../../shared/src/agent-api.js';
import type { Config } from '../../config.js';
import type { AuditWriter } from '../../core/audit.types.js';
import { NO_CHANGE_FEED } from '../../core/change-feed.js';
import { conflict, staleLease } from '../../core/errors.js';
import { type HealthAlerts, NO_HEALTH_ALERTS } from '../../core/health-alerts.js';
import type { CallContext } from '../../core/principal.js';
import type { Db, Tx } from '../../db/client.js';
import type { Recording, RecordingJob } from '../../db/rows.js';
import { retryOnUniqueViolation } from '../../db/unique.js';
import type { NodesService } from '../nodes/index.js';
import type { JobsRepository } from './jobs.repository.js';
import type { JobsService } from './jobs.service.js';
import {
  type OccurrenceJob,
  type OccurrencePlan,
  type OccurrencesRepository,
  occurrenceKey,
} from './occurrences.repository.js';
import { RecordingChanges } from './recording-changes.js';
import type { RecordingsRepository } from './recordings.repository.js';

/** How far ahead a node holds its occurrences (and caches them). */
export const SYNC_HORIZON_MS = 7 * 24 * 3600_000;

export interface ReconcileResult {
  created: number;
  updated: number;
  removed: number;
  /** Nodes whose occurrences changed (to nudge with `schedule-changed`). */
  nodeIds: string[];
}

function parseSelection(text: string | null): number[] | null {
  return text === null ? null : (JSON.parse(text) as number[]);
}

function leaseOf(job: RecordingJob, recording: Pick<Recording, 'sampleRate' | 'channels'>): JobLease {
  return {
    jobId: job.id,
    recordingId: job.recordingId,
    nodeId: job.nodeId,
    epoch: job.epoch,
    leaseExpiresAt: (job.leaseExpiresAt ?? new Date(0)).toISOString(),
    durationSeconds: job.durationSeconds,
    stopRequested: job.stopRequested,
    sampleRate: recording.sampleRate,
    channels: recording.channels,
    channelSelection: parseSelection(job.channelSelection),
    part: job.part,
  };
}

function presentOccurrence(job: OccurrenceJob): ScheduledOccurrence {
  return {
    ...leaseOf(job, job.recording),
    scheduleId: job.scheduleId ?? '',
    scheduleName: job.schedule?.name ?? job.recording.title,
    occurrenceStart: job.occurrenceStart!.toISOString(),
    plannedStartAt: job.plannedStartAt!.toISOString(),
    plannedEndAt: job.plannedEndAt!.toISOString(),
  };
}

export class OccurrencesService {
  private readonly db: Db;
  private readonly repo: OccurrencesRepository;
  private readonly jobs: JobsRepository;
  private readonly jobsService: JobsService;
  private readonly recordings: RecordingsRepository;
  private readonly nodes: NodesService;
  private readonly audit: AuditWriter;
  private readonly config: Pick<Config, 'leaseSeconds'>;
  private readonly now: () => Date;
  private readonly alerts: HealthAlerts;
  private readonly changes: RecordingChanges;

  constructor(options: {
    db: Db;
    repo: OccurrencesRepository;
    jobs: JobsRepository;
    jobsService: JobsService;
    recordings: RecordingsRepository;
    nodes: NodesService;
    audit: AuditWriter;
    config: Pick<Config, 'leaseSeconds'>;
    now: () => Date;
    /** Told of each occurrence failed as missed (the health module raises `occurrence_missed`). */
    alerts?: HealthAlerts;
    changes?: RecordingChanges;
  }) {
    this.db = options.db;
    this.repo = options.repo;
    this.jobs = options.jobs;
    this.jobsService = options.jobsService;
    this.recordings = options.recordings;
    this.nodes = options.nodes;
    this.audit = options.audit;
    this.config = options.config;
    this.now = options.now;
    this.alerts = options.alerts ?? NO_HEALTH_ALERTS;
    this.changes = options.changes ?? new RecordingChanges(NO_CHANGE_FEED, this.now);
  }

  /**
   * Makes the schedules' occurrences that have not started (planned to start after `from`) exactly
   * `plans`: creates the missing (also one whose window is open but has no job), updates changed
   * times or channels in place (the node keeps its lease and epoch) and removes the rest. Begun
   * or finished ones are never touched. Runs in
   * the caller's transaction, so a schedule change and its occurrences commit together.
   */
  async reconcile(
    tx: Tx,
    scheduleIds: string[],
    plans: OccurrencePlan[],
    from: Date,
  ): Promise<ReconcileResult> {
    const wanted = new Map(plans.map((p) => [occurrenceKey(p), p]));
    const nodeIds = new Set<string>();
    const stale: RecordingJob[] = [];
    let updated = 0;
    for (const job of await this.repo.listUnstarted(tx, scheduleIds, from)) {
      const key = occurrenceKey({
        scheduleId: job.scheduleId!,
        nodeId: job.nodeId,
        occurrenceStart: job.occurrenceStart!,
      });
      const plan = wanted.get(key);
      if (!plan) {
        stale.push(job);
        nodeIds.add(job.nodeId);
        continue;
      }
      wanted.delete(key);
      const selection = plan.channelSelection ? JSON.stringify(plan.channelSelection) : null;
      if (
        job.plannedStartAt?.getTime() === plan.plannedStartAt.getTime() &&
        job.plannedEndAt?.getTime() === plan.plannedEndAt.getTime() &&
        job.channelSelection === selection
      )
        continue;
      await this.repo.updatePlan(tx, job.id, {
        plannedStartAt: plan.plannedStartAt,
        plannedEndAt: plan.plannedEndAt,
        durationSeconds: Math.round((plan.plannedEndAt.getTime() - plan.plannedStartAt.getTime()) / 1000),
        channelSelection: selection,
        ...(job.state === 'claimed'
          ? { leaseExpiresAt: new Date(plan.plannedEndAt.getTime() + this.config.leaseSeconds * 1000) }
          : {}),
      });
      updated++;
      nodeIds.add(job.nodeId);
    }
    await this.repo.removeUnstarted(tx, stale);
    // A missing occurrence whose window is still open is created too (the agent starts it late).
    const missing = [...wanted.values()].filter((p) => p.plannedEndAt > from);
    const created = await this.repo.insertMissing(tx, missing, this.now());
    if (created > 0) for (const plan of missing) nodeIds.add(plan.nodeId);
    return { created, updated, removed: stale.length, nodeIds: [...nodeIds] };
  }

  /**
   * Occurrences still queued when their window ended (their node never synced them) are failed
   * as missed, each audited, and the health module told (one replica moves each); returns how
   * many. Safe on every replica (a conditional update).
   */
  async markMissed(): Promise<number> {
    const now = this.now();
    let missed = 0;
    for (const job of await this.repo.listQueuedEnded(now)) {
      const reason = 'missed: the node did not take this occurrence before its window ended';
      const moved = await this.jobsService.systemMove(job, {
        to: 'failed',
        action: 'recording_job.fail',
        reason,
        data: { failureReason: reason, finishedAt: now },
      });
      if (!moved) continue;
      missed++;
      if (job.scheduleId)
        await this.alerts.occurrenceMissed({
          nodeId: job.nodeId,
          scheduleId: job.scheduleId,
          jobId: job.id,
          plannedStartAt: job.plannedStartAt,
          reason: 'the node did not take it before its window ended',
        });
    }
    return missed;
  }

  /** Creates occurrences to record now (run-now); returns how many were new. */
  createImmediate(tx: Tx, plans: OccurrencePlan[]): Promise<number> {
    return this.repo.insertMissing(tx, plans, this.now());
  }

  /** The jobs of one occurrence on every node. */
  jobsOf(scheduleId: string, occurrenceStart: Date): Promise<RecordingJob[]> {
    return this.repo.listOccurrence(scheduleId, occurrenceStart);
  }

  /**
   * The agent's occurrence sync: leases every queued occurrence of the node within the horizon
   * (its epoch is set once, its lease runs to the planned end) and lists every one it holds.
   * Writes only when something is newly leased.
   */
  async sync(nodeId: string, ctx: CallContext): Promise<OccurrenceSyncResult> {
    const node = await this.nodes.visibleNode(ctx.principal, 'recording:control', nodeId);
    const now = this.now();
    const horizon = new Date(now.getTime() + SYNC_HORIZON_MS);
    const queued = await this.repo.listQueuedForNode(this.db, nodeId, now, horizon);
    const claimed: RecordingJob[] = [];
    if (queued.length > 0) {
      await this.db.$transaction(async (tx) => {
        for (const job of queued) {
          const leaseExpiresAt = new Date(job.plannedEndAt!.getTime() + this.config.leaseSeconds * 1000);
          const leased = await this.jobs.updateIfState(tx, job.id, ['queued'], {
            state: 'claimed',
            epoch: { increment: 1 },
            claimedAt: now,
            leaseExpiresAt,
          });
          if (!leased) continue;
          claimed.push(job);
          await this.audit.recordChange(tx, ctx, {
            permission: 'recording:control',
            action: 'recording_job.claim',
            target: { type: 'recording_job', id: job.id },
            before: { state: 'queued', epoch: job.epoch },
            after: { state: 'claimed', epoch: job.epoch + 1, leaseExpiresAt },
          });
        }
      });
    }
    const place = { nodeId, siteId: node.siteId };
    for (const job of claimed) this.changes.job(place, job, 'claimed', { epoch: job.epoch + 1 });
    const held = await this.repo.listHeld(this.db, nodeId, now, horizon);
    return {
      occurrences: held.map(presentOccurrence),
      horizonEnd: horizon.toISOString(),
      serverTimeMs: now.getTime(),
    };
  }

  /**
   * Registers the part an agent records after restarting inside a job's window: a new recording
   * (whose id the agent chose, so it could record before reaching us) and job, linked to the job
   * it continues and to the same occurrence. Repeating the call returns the same lease. A segment
   * (`body.segment`) is registered the same way but is not partial and is titled "segment N".
   */
  async continuePart(
    jobId: string,
    recordingId: string,
    body: ContinuationBody,
    ctx: CallContext,
  ): Promise<JobLease> {
    const parent = await this.jobsService.visibleJob(ctx.principal, 'recording:control', jobId);
    const rootId = parent.parentJobId ?? parent.id;
    let created = false;
    const lease = await retryOnUniqueViolation(() =>
      this.db.$transaction(async (tx) => {
        const existing = await this.recordings.find(recordingId, tx);
        if (existing) {
          if (existing.job?.parentJobId !== rootId)
            throw conflict('That recording id belongs to another recording; send the part under a new UUID.');
          return leaseOf(existing.job, existing);
        }
        if (parent.epoch !== body.epoch)
          throw staleLease(`Epoch ${body.epoch} is not the job's current epoch (${parent.epoch}).`);
        if (parent.stopRequested || parent.state === 'cancelled')
          throw conflict('The job was stopped; there is nothing to continue.', { state: parent.state });
        created = true;
        return this.createPart(tx, { parent, rootId, recordingId, body, ctx });
      }),
    );
    if (created) {
      const place = { nodeId: parent.nodeId, siteId: parent.node.siteId };
      this.changes.recording(place, recordingId, 'recording', { created: true, continues: rootId });
      this.changes.job(place, { id: lease.jobId, recordingId }, 'recording', { continues: rootId });
    }
    return lease;
  }

  private async createPart(
    tx: Tx,
    input: {
      parent: RecordingJob;
      rootId: string;
      recordingId: string;
      body: ContinuationBody;
      ctx: CallContext;
    },
  ): Promise<JobLease> {
    const { parent, rootId, recordingId, body, ctx } = input;
    const parts = await this.repo.listParts(tx, rootId);
    const root = parts.find((p) => p.id === rootId) ?? parent;
    const part = Math.max(...parts.map((p) => p.part)) + 1;
    const source = (await this.recordings.find(root.recordingId, tx))!;
    const now = this.now();
    await this.recordings.create(tx, {
      id: recordingId,
      nodeId: parent.nodeId,
      // A segment is a whole file of a split recording; any other part continues an interrupted one.
      title: `${source.title} (${body.segment ? 'segment' : 'part'} ${part})`,
      state: 'recording',
      sampleRate: source.sampleRate,
      channels: source.channels,
      firstSampleAt: new Date(body.startedAtMs),
      partial: !body.segment,
      partialReason: body.segment ? null : body.reason,
    });
    const job = await this.jobs.create(tx, {
      nodeId: parent.nodeId,
      recordingId,
      state: 'recording',
      epoch: 1,
      leaseExpiresAt: new Date(now.getTime() + this.config.leaseSeconds * 1000),
      durationSeconds: body.durationSeconds,
      requestedBy: root.requestedBy,
      scheduleId: root.scheduleId,
      occurrenceStart: root.occurrenceStart,
      plannedEndAt: root.plannedEndAt,
      part,
      parentJobId: rootId,
      channelSelection: root.channelSelection,
      claimedAt: now,
      startedAt: new Date(body.startedAtMs),
    });
    await this.audit.recordChange(tx, ctx, {
      permission: 'recording:control',
      action: 'recording_job.continue',
      target: { type: 'recording_job', id: job.id },
      reason: body.reason,
      after: {
        parentJobId: rootId,
        part,
        recordingId,
        durationSeconds: body.durationSeconds,
        ...(body.segment ? { segment: true } : {}),
      },
    });
    return leaseOf(job, source);
  }
}
