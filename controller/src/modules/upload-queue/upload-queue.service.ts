/**
 * The upload queue as operators see it: its items within their scope (an item inherits its
 * recording's node), a copy queued by hand (one recording, or many answered per item), a failed
 * copy queued again, and the runner's status and a pass on demand. Every change is audited.
 */

import { ERROR_CODES } from '../../../../shared/src/errors.js';
import type { AuditWriter } from '../../core/audit.types.js';
import { bulkResult, eachItem, refusalEvent } from '../../core/bulk.js';
import { AppError, conflict, forbidden, notFound } from '../../core/errors.js';
import { tally } from '../../core/facets.js';
import type { PagePosition } from '../../core/page-position.js';
import { actorOf, type CallContext, type Principal } from '../../core/principal.js';
import { visibleTo } from '../../core/visible.js';
import type { Db } from '../../db/client.js';
import type { RecordingsService } from '../recordings/index.js';
import { describeError } from '../storage/index.js';
import type { QueueFilter, QueueItemRow, UploadQueueRepository } from './upload-queue.repository.js';
import type { UploadRunner } from './upload-runner.js';

/** Why a failed copy to a deleted provider is not retried. */
const PROVIDER_DELETED =
  'its upload provider was deleted; queue the recording for another provider (POST /api/v1/recordings/:id/upload-queue)';

export const DEFAULT_MAX_ATTEMPTS = 10;

export function presentQueueItem(row: QueueItemRow) {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    id: row.id,
    recordingId: row.recordingId,
    nodeId: row.recording.nodeId,
    siteId: row.recording.node.siteId,
    providerId: row.providerId,
    policyId: row.policyId,
    state: row.state as 'queued' | 'uploading' | 'verified' | 'failed',
    attempts: row.attempts,
    maxAttempts: row.maxAttempts,
    nextAttemptAt: row.nextAttemptAt.toISOString(),
    objectKey: row.objectKey,
    sizeBytes: Number(row.sizeBytes),
    bytesSent: Number(row.bytesSent),
    sha256: row.sha256,
    resumable: row.multipartId !== null,
    verifiedBy: row.verifiedBy,
    verifiedAt: iso(row.verifiedAt),
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export class UploadQueueService {
  constructor(
    private readonly deps: {
      db: Db;
      repo: UploadQueueRepository;
      recordings: RecordingsService;
      /** Whether an upload provider of that id exists. */
      providerExists: (providerId: string) => Promise<boolean>;
      runner: UploadRunner;
      audit: AuditWriter;
      now: () => Date;
    },
  ) {}

  /** Counts of the items the list's filters select, by state and by provider. */
  async facets(principal: Principal, filter: QueueFilter) {
    if (principal.kind !== 'user') throw forbidden('users only');
    const groups = await this.deps.repo.facets(principal.access.filter('recording:read'), filter);
    const count = (g: { count: number }) => g.count;
    return {
      total: groups.reduce((sum, g) => sum + g.count, 0),
      state: tally(groups, (g) => g.state, count),
      providerId: tally(groups, (g) => g.providerId, count),
    };
  }

  list(principal: Principal, filter: QueueFilter, limit: number, after?: PagePosition) {
    if (principal.kind !== 'user') throw forbidden('users only');
    return this.deps.repo.list(principal.access.filter('recording:read'), filter, limit, after);
  }

  async get(
    id: string,
    principal: Principal,
    permission: 'recording:read' | 'recording:control' = 'recording:read',
  ) {
    const row = await this.deps.repo.find(id);
    if (!row) throw notFound('upload queue item');
    const scope = { nodeId: row.recording.nodeId, siteId: row.recording.node.siteId };
    return visibleTo(principal, permission, row, scope, {
      name: 'upload queue item',
      target: { type: 'upload_queue_item', id },
    });
  }

  async actions(id: string, principal: Principal) {
    const row = await this.get(id, principal);
    const scope = { nodeId: row.recording.nodeId, siteId: row.recording.node.siteId };
    const may = principal.kind === 'user' && principal.access.allows('recording:control', scope);
    if (!may)
      return { retry: { allowed: false, reason: "needs recording:control on this recording's node" } };
    if (row.state !== 'failed')
      return {
        retry: { allowed: false, reason: `the copy is ${row.state}: only a failed copy is queued again` },
      };
    if (!(await this.deps.providerExists(row.providerId)))
      return { retry: { allowed: false, reason: PROVIDER_DELETED } };
    return { retry: { allowed: true, reason: null } };
  }

  /** Queues a copy of a completed recording to a provider, by hand. */
  async enqueue(recordingId: string, providerId: string, maxAttempts: number | undefined, ctx: CallContext) {
    const { db, repo, recordings, audit, now } = this.deps;
    const recording = await recordings.visibleRecording(ctx.principal, 'recording:control', recordingId);
    if (recording.state !== 'completed' || !recording.sha256)
      throw conflict(
        `The recording is ${recording.state}: only a complete recording is copied to a provider.`,
      );
    if (!recording.filePath)
      throw conflict(
        "The controller no longer holds this recording's file (retention removed it); its copies are at the upload providers listed in GET /api/v1/upload-queue.",
      );
    if (!(await this.deps.providerExists(providerId))) throw notFound(`upload provider ${providerId}`);
    const created = await db.$transaction(async (tx) => {
      const item = await repo.create(tx, recording, {
        providerId,
        policyId: null,
        maxAttempts: maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        now: now(),
      });
      if (!item)
        throw conflict('The recording is queued for that provider already: retry its item if it failed.');
      await audit.recordChange(tx, ctx, {
        permission: 'recording:control',
        action: 'upload_queue.enqueue',
        target: { type: 'upload_queue_item', id: item.id },
        after: { recordingId, providerId, maxAttempts: item.maxAttempts },
      });
      return item;
    });
    return (await repo.find(created.id))!;
  }

  async bulkEnqueue(
    ids: readonly string[],
    providerId: string,
    maxAttempts: number | undefined,
    ctx: CallContext,
  ) {
    if (ctx.principal.kind !== 'user') throw forbidden('users only');
    if (!(await this.deps.providerExists(providerId))) throw notFound(`upload provider ${providerId}`);
    return bulkResult(
      await eachItem(
        ids,
        (id) => this.enqueue(id, providerId, maxAttempts, ctx),
        (id, error) =>
          this.deps.audit
            .recordAlone(
              refusalEvent(
                ctx,
                'recording:control',
                'upload_queue.enqueue',
                { type: 'recording', id },
                error,
              ),
            )
            .then(() => undefined),
      ),
    );
  }

  /** A failed copy queued again, from its first attempt. */
  async retry(id: string, ctx: CallContext) {
    const { db, repo, audit, now } = this.deps;
    const row = await this.get(id, ctx.principal, 'recording:control');
    if (row.state === 'failed' && !(await this.deps.providerExists(row.providerId)))
      throw conflict(`The copy is not queued again: ${PROVIDER_DELETED}.`);
    await db.$transaction(async (tx) => {
      if (!(await repo.requeue(tx, id, now())))
        throw conflict(`The copy is ${row.state}: only a failed copy is queued again.`);
      await audit.recordChange(tx, ctx, {
        permission: 'recording:control',
        action: 'upload_queue.retry',
        target: { type: 'upload_queue_item', id },
        before: { state: row.state, attempts: row.attempts, lastError: row.lastError },
        after: { state: 'queued', attempts: 0 },
      });
    });
    return (await repo.find(id))!;
  }

  /**
   * Reads a verified copy back from its provider and compares it with the recording: a copy
   * changed or gone behind our back is queued to be copied again. Audited either way.
   */
  async verify(id: string, ctx: CallContext) {
    const row = await this.get(id, ctx.principal, 'recording:control');
    if (row.state !== 'verified')
      throw conflict(`The copy is ${row.state}: only a verified copy is checked again.`);
    const checked = await this.deps.runner.reverify(row).catch((error: unknown) => {
      throw new AppError(
        503,
        ERROR_CODES.unavailable,
        `The provider could not be asked: ${describeError(error)}. Try again later.`,
      );
    });
    await this.deps.audit.recordAlone({
      actor: actorOf(ctx.principal),
      permission: 'recording:control',
      action: 'upload_queue.verify',
      target: { type: 'upload_queue_item', id },
      outcome: checked.intact ? 'success' : 'failure',
      reason: checked.reason,
      after: { recordingId: row.recordingId, providerId: row.providerId, intact: checked.intact },
      context: ctx.request,
    });
    return (await this.deps.repo.find(id))!;
  }

  async runnerStatus() {
    return { ...this.deps.runner.status(), items: await this.deps.repo.countByProviderAndState() };
  }

  runnerActions(principal: Principal) {
    const may = principal.kind === 'user' && principal.access.allows('recording:control', {});
    return {
      run: may
        ? { allowed: true, reason: null }
        : { allowed: false, reason: 'needs recording:control over the whole fleet' },
    };
  }

  /** A runner pass now: audited, then answered with the status once it ended. */
  async run(ctx: CallContext) {
    await this.deps.audit.recordAlone({
      actor: actorOf(ctx.principal),
      permission: 'recording:control',
      action: 'upload_runner.run',
      outcome: 'success',
      after: { runnerId: this.deps.runner.id },
      context: ctx.request,
    });
    await this.deps.runner.run();
    return this.runnerStatus();
  }
}
