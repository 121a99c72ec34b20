/**
 * What operators do with recording jobs beyond reading one: the filtered list and its export,
 * what can be done with a job now (`/actions`), retry, and the bulk retry and stop.
 *
 * **What a retry is.** A job has exactly one recording (`RecordingJob.recordingId` is unique),
 * so a retry re-queues the same job rather than adding a row: state `queued`, lease, times,
 * failure reason and stop request cleared, its recording back to `pending`. The epoch is kept;
 * the next claim (or occurrence lease) increments it, so anything the previous attempt's holder
 * still sends carries a superseded epoch and gets `stale_lease` (the lease model fences it),
 * and the agent writes the new attempt to a new file (its file names carry the epoch). The
 * earlier attempt stays in the audit trail. A retry is refused (409, with the reason) when a
 * new attempt would not record the same thing (`retryRefusal`):
 *   - the job is not `failed` or `cancelled` (queued or held: it is still going; completed:
 *     the recording is complete; `lost_contact`: its node may still be recording, and a late
 *     upload with its lease completes the job, which a new lease would throw away);
 *   - the job captured audio (its agent keeps the file): a new attempt would record over it;
 *   - a scheduled occurrence whose window has ended, or that was leased to its node already
 *     (the agent acts on an occurrence once: it would not start the same job again);
 *   - a continuation part (registered by its agent, never queued);
 *   - the node is decommissioned.
 * In practice: an ad-hoc job that failed or was cancelled before any audio, and a scheduled
 * occurrence stopped before its node ever held it while its window is still open.
 *
 * Bulk actions answer per item (`{id, ok, status, error?}`), one item's failure does not stop
 * the others, and every item writes one audit event: its change (retry: `recording_job.retry`;
 * stop: `recording.stop` on the job's recording, as `POST /recordings/:id/stop` writes it), or
 * its refusal: a job outside the caller's scope is reported exactly like one that does not
 * exist (404) and audited as a denial; any other refusal as a failure.
 */
import type { Permission } from '../../../../shared/src/permissions.js';
import type { AuditWriter } from '../../core/audit.types.js';
import type { AuditAction } from '../../core/audit-actions.js';
import { type BulkItem, eachItem, refusalEvent } from '../../core/bulk.js';
import { conflict, forbidden, notFound } from '../../core/errors.js';
import { tally } from '../../core/facets.js';
import type { NodeNotifier } from '../../core/node-commands.js';
import type { PagePosition } from '../../core/page-position.js';
import type { CallContext, Principal, UserPrincipal } from '../../core/principal.js';
import { type ExportSummary, exportEvent } from '../../core/table-export.js';
import type { Db } from '../../db/client.js';
import type { RecordingJob } from '../../db/rows.js';
import type { JobForControl, JobListFilter, JobRow, JobsRepository } from './jobs.repository.js';
import { isActive, type JobsService } from './jobs.service.js';
import type { RecordingChanges } from './recording-changes.js';
import type { RecordingsRepository } from './recordings.repository.js';
import { checkCreatedRange, type JobFilter } from './recordings.schemas.js';
import type { RecordingsService } from './recordings.service.js';

const RETRYABLE_STATES = ['failed', 'cancelled'] as const;

/** Why a retry of `job` would not record what the job was for now; null when it would. */
export function retryRefusal(job: JobForControl, now: Date): string | null {
  const { state } = job;
  if (state === 'completed') return 'the recording is complete: there is nothing to retry';
  if (state === 'queued') return 'the job is queued already: no agent has claimed it yet';
  if (state === 'lost_contact')
    return 'its node lost contact while holding the job: it may still be recording, and a late upload completes the job';
  if (!(RETRYABLE_STATES as readonly string[]).includes(state))
    return `the job is ${state} on its node: stop it, or wait for it to end`;
  if (job.part > 1)
    return `this is part ${job.part} of job ${job.parentJobId}, registered by its agent: parts are not retried`;
  const recording = job.recording;
  if (job.startedAt !== null || recording.firstSampleAt !== null || recording.receivedBytes > 0n)
    return `the job captured audio before it ${state === 'failed' ? 'failed' : 'was cancelled'} (its agent keeps it): a retry would record over it; start a new recording instead`;
  if (job.plannedEndAt !== null && job.plannedEndAt <= now)
    return `the occurrence's window ended at ${job.plannedEndAt.toISOString()}: nothing is left to record`;
  if (job.plannedEndAt !== null && job.epoch > 0)
    return 'its node already held this scheduled occurrence and does not start one twice: use the schedule’s run-now instead';
  if (job.node.decommissionedAt !== null) return `node ${job.nodeId} is decommissioned: it records no more`;
  return null;
}

/** Why `job` cannot be stopped now; null when it can. */
export function stopRefusal(job: Pick<RecordingJob, 'state' | 'stopRequested'>): string | null {
  if (!(job.state === 'queued' || isActive(job.state)))
    return `the job is ${job.state}: there is nothing to stop`;
  if (job.stopRequested) return 'a stop was already requested';
  return null;
}

function userOf(principal: Principal): UserPrincipal {
  if (principal.kind !== 'user') throw forbidden('users only');
  return principal;
}

/** One job's answer in a bulk action: `core/bulk.ts`'s item, with the job as it is now when done. */
export type JobBulkItem = Omit<BulkItem<unknown>, 'value'> & { job?: ReturnType<JobsService['present']> };

export class JobControlService {
  constructor(
    private readonly deps: {
      db: Db;
      jobsRepo: JobsRepository;
      recordingsRepo: RecordingsRepository;
      jobs: JobsService;
      recordings: RecordingsService;
      audit: AuditWriter;
      notifyNode: NodeNotifier;
      now: () => Date;
      /** Job and recording state changes, announced after they commit. */
      recordingChanges?: RecordingChanges;
    },
  ) {}

  list(principal: Principal, query: JobFilter, limit: number, after?: PagePosition): Promise<JobRow[]> {
    const filter = userOf(principal).access.filter('recording:read');
    return this.deps.jobsRepo.list(filter, listFilter(query), limit, after);
  }

  /** Counts of the jobs the list's filters select, by state and by node. */
  async facets(principal: Principal, query: JobFilter) {
    const groups = await this.deps.jobsRepo.facets(
      userOf(principal).access.filter('recording:read'),
      listFilter(query),
    );
    const count = (g: { count: number }) => g.count;
    return {
      total: groups.reduce((sum, g) => sum + g.count, 0),
      state: tally(groups, (g) => g.state, count),
      nodeId: tally(groups, (g) => g.nodeId, count),
    };
  }

  listByIds(principal: Principal, ids: string[]): Promise<JobRow[]> {
    return this.deps.jobsRepo.listByIds(userOf(principal).access.filter('recording:read'), ids);
  }

  /** An export leaves the controller: audited once, with how many jobs and the format. */
  async recordExport(ctx: CallContext, summary: ExportSummary): Promise<void> {
    await this.deps.audit.recordAlone(exportEvent(ctx, 'recording:read', 'recording_job.export', summary));
  }

  /** What the caller can do with the job now, each with the reason when not. */
  async actions(jobId: string, principal: Principal) {
    await this.deps.jobs.visibleJob(principal, 'recording:read', jobId);
    const job = await this.deps.jobsRepo.findWithRecording(jobId);
    if (!job) throw notFound('recording job');
    const scope = { siteId: job.node.siteId, nodeId: job.nodeId };
    const may = (p: Permission) => principal.kind === 'user' && principal.access.allows(p, scope);
    const gate = (permission: Permission, refusal: string | null) =>
      may(permission)
        ? { allowed: refusal === null, reason: refusal }
        : { allowed: false, reason: `needs ${permission} on this job's node` };
    const { recording } = job;
    return {
      retry: gate('recording:control', retryRefusal(job, this.deps.now())),
      stop: gate('recording:control', stopRefusal(job)),
      download: gate(
        'recording:download',
        recording.state === 'completed' && recording.filePath
          ? null
          : `the recording is ${recording.state}: its file is not available yet`,
      ),
    };
  }

  /** Queues a new attempt of a failed or cancelled job (see the file's comment for when). */
  async retry(jobId: string, ctx: CallContext): Promise<RecordingJob> {
    const { db, jobsRepo, recordingsRepo, audit } = this.deps;
    await this.deps.jobs.visibleJob(ctx.principal, 'recording:control', jobId);
    const job = await jobsRepo.findWithRecording(jobId);
    if (!job) throw notFound('recording job');
    const refusal = retryRefusal(job, this.deps.now());
    if (refusal) throw conflict(`The job cannot be retried: ${refusal}.`, { state: job.state });
    const retried = await db.$transaction(async (tx) => {
      const ok = await jobsRepo.updateFenced(tx, jobId, job.epoch, [job.state], {
        state: 'queued',
        leaseExpiresAt: null,
        failureReason: null,
        stopRequested: false,
        claimedAt: null,
        startedAt: null,
        finishedAt: null,
      });
      if (!ok) throw conflict('The job changed meanwhile; read it again before retrying.');
      await recordingsRepo.update(tx, job.recordingId, { state: 'pending', completedAt: null });
      await audit.recordChange(tx, ctx, {
        permission: 'recording:control',
        action: 'recording_job.retry',
        target: { type: 'recording_job', id: jobId },
        before: { state: job.state, epoch: job.epoch, failureReason: job.failureReason },
        after: { state: 'queued', epoch: job.epoch },
      });
      return (await jobsRepo.findInTx(tx, jobId))!;
    });
    const place = { nodeId: job.nodeId, siteId: job.node.siteId };
    this.deps.recordingChanges?.moved(place, job, 'queued', 'pending', { retry: true });
    // Best effort (agents also poll): an ad-hoc job is claimed, an occurrence comes with a sync.
    if (job.plannedStartAt === null)
      await this.deps.notifyNode(job.nodeId, 'job-available', { jobId, recordingId: job.recordingId });
    else await this.deps.notifyNode(job.nodeId, 'schedule-changed');
    return retried;
  }

  /** Stops one job through the recording's stop (a queued job is cancelled, a running one asked to stop). */
  async stop(jobId: string, ctx: CallContext): Promise<RecordingJob> {
    const job = await this.deps.jobs.visibleJob(ctx.principal, 'recording:control', jobId);
    await this.deps.recordings.stop(job.recordingId, ctx);
    const after = await this.deps.jobsRepo.find(jobId);
    if (!after) throw notFound('recording job');
    return after;
  }

  bulkRetry(ids: string[], ctx: CallContext): Promise<JobBulkItem[]> {
    return this.each(ids, ctx, 'recording_job.retry', (id) => this.retry(id, ctx));
  }

  bulkStop(ids: string[], ctx: CallContext): Promise<JobBulkItem[]> {
    return this.each(ids, ctx, 'recording_job.stop', (id) => this.stop(id, ctx));
  }

  /** Runs `act` on each id in turn (core/bulk.ts); each refusal is that item's answer, audited. */
  private async each(
    ids: string[],
    ctx: CallContext,
    action: AuditAction,
    act: (id: string) => Promise<RecordingJob>,
  ): Promise<JobBulkItem[]> {
    userOf(ctx.principal);
    const results = await eachItem(
      ids,
      async (id) => this.deps.jobs.present(await act(id)),
      async (id, error) => {
        await this.deps.audit.recordAlone(
          refusalEvent(ctx, 'recording:control', action, { type: 'recording_job', id }, error),
        );
      },
    );
    return results.map(({ value, ...item }) => (value ? { ...item, job: value } : item));
  }
}

function listFilter(query: JobFilter): JobListFilter {
  const from = query.from === undefined ? undefined : new Date(query.from);
  const to = query.to === undefined ? undefined : new Date(query.to);
  checkCreatedRange(query);
  return {
    ...(query.nodeId === undefined ? {} : { nodeId: query.nodeId }),
    ...(query.state === undefined ? {} : { state: query.state }),
    ...(query.site === undefined ? {} : { site: query.site }),
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
  };
}
