/**
 * Recording jobs and their leases (docs/architecture.md, flow 2): queued → claimed → recording →
 * uploading → completed, or failed / cancelled. A claim hands out a lease with a new
 * epoch (fencing token); every later agent call carries it and a stale one gets 409
 * `stale_lease` and changes nothing. An expired lease does not re-queue the job: the
 * node keeps recording through a lost connection and a late call with the right
 * epoch still counts; reads show `leaseExpired`.
 */

import type {
  CaptureFacts,
  JobHeartbeatBody,
  JobHeartbeatResult,
  JobLease,
  JobState,
  JobTerminalBody,
} from '../../../../shared/src/agent-api.js';
import type { Permission } from '../../../../shared/src/permissions.js';
import type { Config } from '../../config.js';
import { type AuditWriter, SYSTEM_ACTOR } from '../../core/audit.types.js';
import type { AuditAction } from '../../core/audit-actions.js';
import { NO_CHANGE_FEED } from '../../core/change-feed.js';
import { conflict, notFound, staleLease } from '../../core/errors.js';
import { type HealthAlerts, NO_HEALTH_ALERTS } from '../../core/health-alerts.js';
import type { CallContext, Principal } from '../../core/principal.js';
import { type Visible, visibleTo } from '../../core/visible.js';
import type { Db } from '../../db/client.js';
import type { RawDb } from '../../db/raw.js';
import type { Prisma, RecordingJob } from '../../db/rows.js';
import type { NodesService } from '../nodes/index.js';
import type { RecordingFileStore } from './file-store.js';
import type { JobRow, JobsRepository } from './jobs.repository.js';
import { type ChangePlace, RecordingChanges } from './recording-changes.js';
import type { RecordingsRepository } from './recordings.repository.js';
import type { RecordingState } from './recordings.schemas.js';

/**
 * States in which an agent holds the job; only these take agent calls. `lost_contact` is one:
 * the node may be recording through an outage, and its late calls with the right epoch count.
 */
export const ACTIVE_JOB_STATES = ['claimed', 'recording', 'uploading', 'lost_contact'] as const;
/** Jobs whose lease runs out without a heartbeat become `lost_contact` from these states. */
const CONTACT_STATES = ['claimed', 'recording', 'uploading'] as const;
const PROGRESS: Record<string, number> = { lost_contact: -1, claimed: 0, recording: 1, uploading: 2 };
/** The audited action of a job moving to a state an agent reports. */
const STATE_ACTIONS = {
  recording: 'recording_job.recording_start',
  uploading: 'recording_job.upload_start',
  failed: 'recording_job.fail',
  cancelled: 'recording_job.cancel',
} as const satisfies Partial<Record<JobState, AuditAction>>;
/** Heartbeats racing each other or an upload: re-read and try again this often. */
const STATE_RACE_RETRIES = 3;

export function isActive(state: string): boolean {
  return (ACTIVE_JOB_STATES as readonly string[]).includes(state);
}

/** The recording's state for a job state. */
export function recordingStateFor(jobState: JobState): RecordingState {
  return jobState === 'queued' || jobState === 'claimed' ? 'pending' : jobState;
}

/** What a job heartbeat's capture facts change on the recording. */
export function captureFactsOf(facts: CaptureFacts) {
  return {
    firstSampleAt: new Date(facts.firstSampleAtMs),
    ...(facts.plannedStartMs === undefined ? {} : { plannedStartAt: new Date(facts.plannedStartMs) }),
    ...(facts.clockOffsetMs === undefined ? {} : { clockOffsetMs: facts.clockOffsetMs }),
    ...(facts.partial === undefined ? {} : { partial: facts.partial }),
    ...(facts.partialReason === undefined ? {} : { partialReason: facts.partialReason }),
    ...(facts.loudness === undefined
      ? {}
      : {
          integratedLufs: facts.loudness.integratedLufs,
          loudnessRangeLu: facts.loudness.loudnessRangeLu,
          truePeakDbtp: facts.loudness.truePeakDbtp,
        }),
  };
}

export function presentJob(job: RecordingJob, now: Date) {
  return {
    id: job.id,
    recordingId: job.recordingId,
    nodeId: job.nodeId,
    state: job.state as JobState,
    epoch: job.epoch,
    leaseExpiresAt: job.leaseExpiresAt?.toISOString() ?? null,
    leaseExpired: isActive(job.state) && job.leaseExpiresAt !== null && job.leaseExpiresAt <= now,
    durationSeconds: job.durationSeconds,
    stopRequested: job.stopRequested,
    failureReason: job.failureReason,
    requestedBy: job.requestedBy,
    scheduleId: job.scheduleId,
    occurrenceStart: job.occurrenceStart?.toISOString() ?? null,
    plannedStartAt: job.plannedStartAt?.toISOString() ?? null,
    plannedEndAt: job.plannedEndAt?.toISOString() ?? null,
    part: job.part,
    parentJobId: job.parentJobId,
    createdAt: job.createdAt.toISOString(),
    claimedAt: job.claimedAt?.toISOString() ?? null,
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}

export class JobsService {
  private readonly db: Db;
  private readonly raw: RawDb;
  private readonly jobs: JobsRepository;
  private readonly recordings: RecordingsRepository;
  private readonly nodes: NodesService;
  private readonly audit: AuditWriter;
  private readonly files: RecordingFileStore;
  private readonly config: Pick<Config, 'leaseSeconds'>;
  private readonly now: () => Date;
  private readonly alerts: HealthAlerts;
  private readonly changes: RecordingChanges;
  /** Nodes whose last claim found a job: a queue being drained, so their next claim skips the peek. */
  private readonly draining = new Set<string>();

  constructor(options: {
    db: Db;
    raw: RawDb;
    jobs: JobsRepository;
    recordings: RecordingsRepository;
    nodes: NodesService;
    audit: AuditWriter;
    files: RecordingFileStore;
    config: Pick<Config, 'leaseSeconds'>;
    now?: () => Date;
    /** Told of a scheduled occurrence its agent reports missed (`occurrence_missed`). */
    alerts?: HealthAlerts;
    changes?: RecordingChanges;
  }) {
    this.db = options.db;
    this.raw = options.raw;
    this.jobs = options.jobs;
    this.recordings = options.recordings;
    this.nodes = options.nodes;
    this.audit = options.audit;
    this.files = options.files;
    this.config = options.config;
    this.now = options.now ?? (() => new Date());
    this.alerts = options.alerts ?? NO_HEALTH_ALERTS;
    this.changes = options.changes ?? new RecordingChanges(NO_CHANGE_FEED, this.now);
  }

  present(job: RecordingJob) {
    return presentJob(job, this.now());
  }

  private leaseUntil(): Date {
    return new Date(this.now().getTime() + this.config.leaseSeconds * 1000);
  }

  /** A job the caller may see; 404 otherwise (also for another node's job). */
  async visibleJob(principal: Principal, permission: Permission, jobId: string): Promise<Visible<JobRow>> {
    const job = await this.jobs.find(jobId);
    if (!job) throw notFound('recording job');
    return visibleTo(
      principal,
      permission,
      job,
      { nodeId: job.nodeId, siteId: job.node.siteId },
      {
        name: 'recording job',
        target: { type: 'recording_job', id: jobId },
      },
    );
  }

  /**
   * Hands the node its oldest queued job under a new lease, or null. One transaction on the raw
   * driver (db/raw.ts), two statements: the claim with its lease, then the audit append, which
   * commits (on PostgreSQL two round trips, the chain lock held only while the server runs the
   * second; on SQLite with the other claims of that moment, one group commit). An empty poll,
   * what a fleet sends most, is one read: no transaction, no write, nothing audited. While a
   * node's claims keep finding jobs the read is skipped (a missed guess costs one empty
   * transaction).
   */
  async claimNext(nodeId: string, ctx: CallContext): Promise<JobLease | null> {
    const { principal } = ctx;
    // A node claiming for itself was just named by its credential: no need to read the node.
    const siteId =
      principal.kind === 'node' && principal.nodeId === nodeId
        ? principal.siteId
        : (await this.nodes.visibleNode(principal, 'recording:control', nodeId)).siteId;
    if (!this.draining.has(nodeId) && !(await this.jobs.hasClaimable(nodeId))) return null;
    const claimedAt = this.now();
    const leaseExpiresAt = this.leaseUntil();
    const lease = await this.raw.transaction(async (tx): Promise<JobLease | null> => {
      const job = await this.jobs.claimNext(tx, nodeId, { claimedAt, leaseExpiresAt });
      if (!job) return null; // a concurrent claimer took the last one
      await this.audit.recordChangeAndCommit(tx, ctx, {
        permission: 'recording:control',
        action: 'recording_job.claim',
        target: { type: 'recording_job', id: job.id },
        scope: { nodeId, siteId },
        before: { state: 'queued', epoch: job.epoch - 1 },
        after: { state: 'claimed', epoch: job.epoch, leaseExpiresAt },
      });
      return {
        jobId: job.id,
        recordingId: job.recordingId,
        nodeId: job.nodeId,
        epoch: job.epoch,
        leaseExpiresAt: leaseExpiresAt.toISOString(),
        durationSeconds: job.durationSeconds,
        stopRequested: job.stopRequested,
        sampleRate: job.sampleRate,
        channels: job.channels,
        channelSelection: job.channelSelection,
      };
    });
    if (lease) {
      this.draining.add(nodeId);
      this.changes.job({ nodeId, siteId }, { id: lease.jobId, recordingId: lease.recordingId }, 'claimed', {
        epoch: lease.epoch,
      });
    } else this.draining.delete(nodeId);
    return lease;
  }

  /**
   * Extends the lease and moves the job forward (claimed → recording → uploading);
   * never backwards, so a late `recording` heartbeat after the upload started only
   * extends the lease.
   */
  async heartbeat(jobId: string, body: JobHeartbeatBody, ctx: CallContext): Promise<JobHeartbeatResult> {
    const seen = await this.visibleJob(ctx.principal, 'recording:control', jobId);
    for (let attempt = 0; attempt < STATE_RACE_RETRIES; attempt++) {
      const result = await this.db.$transaction(async (tx) => {
        const job = await this.jobs.findInTx(tx, jobId);
        if (!job || job.epoch !== body.epoch || !isActive(job.state)) throw this.stale(job, body.epoch);
        const next = (PROGRESS[body.state] ?? 0) > (PROGRESS[job.state] ?? 0) ? body.state : job.state;
        const now = this.now();
        const leaseExpiresAt = this.leaseUntil();
        const moved = next !== job.state;
        const ok = await this.jobs.updateFenced(tx, jobId, body.epoch, [job.state], {
          leaseExpiresAt,
          state: next,
          ...(moved && !job.startedAt ? { startedAt: now } : {}),
        });
        if (!ok) return undefined; // changed under us: read again
        if (body.capture) await this.recordings.update(tx, job.recordingId, captureFactsOf(body.capture));
        if (moved) {
          await this.recordings.update(tx, job.recordingId, { state: recordingStateFor(next as JobState) });
          await this.audit.recordChange(tx, ctx, {
            permission: 'recording:control',
            // moved: next is body.state
            action: job.state === 'lost_contact' ? 'recording_job.contact_regain' : STATE_ACTIONS[body.state],
            target: { type: 'recording_job', id: jobId },
            before: { state: job.state },
            after: { state: next },
          });
        }
        return {
          leaseExpiresAt: leaseExpiresAt.toISOString(),
          stopRequested: job.stopRequested,
          state: next,
          moved,
        };
      });
      if (result) {
        const { moved, ...answer } = result;
        if (moved)
          this.changes.moved(placeOf(seen), seen, answer.state, recordingStateFor(answer.state as JobState));
        return answer;
      }
    }
    throw conflict('The job keeps changing under this heartbeat; send it again.');
  }

  private stale(job: RecordingJob | null, epoch: number) {
    if (!job) return notFound('recording job');
    return staleLease(
      job.epoch !== epoch
        ? `Epoch ${epoch} is not the job's current epoch (${job.epoch}): this lease was superseded.`
        : `The job is ${job.state}; it no longer takes agent calls.`,
    );
  }

  /** The agent reports the job failed or cancelled (terminal). Repeating the same report is harmless. */
  async finish(
    jobId: string,
    outcome: 'failed' | 'cancelled',
    body: JobTerminalBody,
    ctx: CallContext,
  ): Promise<RecordingJob> {
    const seen = await this.visibleJob(ctx.principal, 'recording:control', jobId);
    if (seen.state === outcome && seen.epoch === body.epoch) return seen;
    const now = this.now();
    const job = await this.db.$transaction(async (tx) => {
      const ok = await this.jobs.updateFenced(tx, jobId, body.epoch, ACTIVE_JOB_STATES, {
        state: outcome,
        failureReason: body.reason ?? null,
        finishedAt: now,
        leaseExpiresAt: null,
      });
      if (!ok) throw this.stale(await this.jobs.findInTx(tx, jobId), body.epoch);
      const updated = await this.jobs.findInTx(tx, jobId);
      await this.recordings.update(tx, seen.recordingId, { state: outcome });
      await this.audit.recordChange(tx, ctx, {
        permission: 'recording:control',
        action: STATE_ACTIONS[outcome],
        target: { type: 'recording_job', id: jobId },
        reason: body.reason ?? null,
        before: { state: seen.state },
        after: { state: outcome },
      });
      return updated!;
    });
    this.changes.moved(placeOf(seen), job, outcome, outcome, { reason: body.reason ?? null });
    // Nothing will resume this upload now.
    await this.files.deletePart(job.nodeId, job.recordingId);
    // The agent's schedule runner reports a window that ended unrecorded as "missed: …".
    if (outcome === 'failed' && job.scheduleId && /^missed\b/.test(body.reason ?? ''))
      await this.alerts.occurrenceMissed({
        nodeId: job.nodeId,
        scheduleId: job.scheduleId,
        jobId: job.id,
        plannedStartAt: job.plannedStartAt,
        reason: body.reason!.replace(/^missed:\s*/, ''),
      });
    return job;
  }

  /**
   * Jobs held by a node whose lease ran out with no word from it become `lost_contact` (not
   * failed: it may be recording through an outage). Each change is audited; safe to run on
   * every replica at once (a conditional update per job). Returns how many changed.
   */
  async markLostContact(): Promise<number> {
    const now = this.now();
    let changed = 0;
    for (const job of await this.jobs.listLeaseExpired(CONTACT_STATES, now)) {
      const moved = await this.systemMove(job, {
        to: 'lost_contact',
        action: 'recording_job.contact_lose',
        reason: `no heartbeat since the lease expired at ${job.leaseExpiresAt?.toISOString()}`,
      });
      if (moved) changed++;
    }
    return changed;
  }

  /**
   * The controller's own move of a job (no caller): only if the job is still in the state and
   * epoch it was read in; the recording follows; audited as the system in the same transaction.
   */
  async systemMove(
    job: RecordingJob,
    move: {
      to: JobState;
      action: AuditAction;
      reason: string;
      data?: Prisma.RecordingJobUncheckedUpdateInput;
    },
  ): Promise<boolean> {
    const moved = await this.db.$transaction(async (tx) => {
      const ok = await this.jobs.updateFenced(tx, job.id, job.epoch, [job.state], {
        state: move.to,
        ...move.data,
      });
      if (!ok) return false;
      await this.recordings.update(tx, job.recordingId, { state: recordingStateFor(move.to) });
      await this.audit.record(tx, {
        actor: SYSTEM_ACTOR,
        permission: 'recording:control',
        action: move.action,
        target: { type: 'recording_job', id: job.id },
        outcome: 'success',
        reason: move.reason,
        before: { state: job.state },
        after: { state: move.to },
      });
      return true;
    });
    if (moved)
      this.changes.moved({ nodeId: job.nodeId }, job, move.to, recordingStateFor(move.to), {
        reason: move.reason,
      });
    return moved;
  }

  countByState(): Promise<Map<string, number>> {
    return this.jobs.countByState();
  }
}

/** Where a job belongs, for the change feed. */
function placeOf(job: { nodeId: string; node?: { siteId: string } }): ChangePlace {
  return { nodeId: job.nodeId, siteId: job.node?.siteId ?? null };
}
