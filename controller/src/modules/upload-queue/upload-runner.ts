/**
 * The upload runner: every pass it queues the completed recordings each `on-complete` upload
 * policy has not queued yet, then leases due items (safe with several controllers on one
 * PostgreSQL: a lease is a compare-and-set, and a controller that stops mid-copy loses its lease
 * when it runs out; a controller alone on its SQLite database takes its own over at start) and
 * copies each to its provider through the storage port, verified there.
 *
 * A failed attempt is retried with capped exponential backoff and jitter, up to the item's
 * attempts; a multipart upload in progress is kept (its id and parts in the row) so the next
 * attempt, on this controller or another after a restart, sends only the rest. A copy that is
 * not the recording starts over. The last failed attempt marks the item failed, gives up its
 * multipart upload at the provider, raises a health event on the recording's node, and is
 * audited; so is every verified copy.
 */
import { randomUUID } from 'node:crypto';
import type { AuditWriter } from '../../core/audit.types.js';
import { SYSTEM_ACTOR } from '../../core/audit.types.js';
import type { HealthAlerts } from '../../core/health-alerts.js';
import type { Logger } from '../../core/logger.js';
import type { OpsLog } from '../../core/ops-log.js';
import type { Db } from '../../db/client.js';
import type { UploadQueueItem } from '../../db/rows.js';
import type { Metrics } from '../../metrics.js';
import { PeriodicTask } from '../../platform/periodic-task.js';
import type { CleanupResult } from '../recordings/index.js';
import { CopyMismatchError, describeError, type MultipartState, type ObjectStore } from '../storage/index.js';
import type { UploadQueueRepository } from './upload-queue.repository.js';

/** How often the runner looks for work. */
export const RUNNER_INTERVAL_MS = 5_000;
/**
 * A copy holds its item this long without progress before another runner may take it (the
 * default; config `uploadCopyLeaseSeconds`).
 */
export const COPY_LEASE_MS = 2 * 60_000;
/** Items copied per pass (one at a time). */
const BATCH = 4;
/** Recordings queued per policy and pass. */
const ENQUEUE_BATCH = 500;
const BACKOFF_BASE_MS = 5_000;
const BACKOFF_CAP_MS = 15 * 60_000;

/** The wait before attempt `attempt + 1`: exponential, capped, with jitter (half to all of it). */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/** An upload provider ready to copy to (its secret opened), by id; undefined when it is gone. */
export interface ProviderStores {
  open(providerId: string): Promise<{ name: string; store: ObjectStore } | undefined>;
  /** The policies that queue recordings once verified: their provider and attempts. */
  onCompletePolicies(): Promise<{ id: string; providerId: string; maxAttempts: number }[]>;
}

export interface RunnerStatus {
  runnerId: string;
  running: boolean;
  lastPassAt: string | null;
  lastPassError: string | null;
  copying: string[];
}

export class UploadRunner {
  readonly id = `runner-${randomUUID()}`;
  private readonly task: PeriodicTask;
  private readonly stopping = new AbortController();
  private readonly copying = new Set<string>();
  private lastPassAt: Date | null = null;
  private lastPassError: string | null = null;
  private readonly copyLeaseMs: number;

  constructor(
    private readonly deps: {
      db: Db;
      repo: UploadQueueRepository;
      providers: ProviderStores;
      /** A recording's file on the controller's disk (absolute), null when it has none. */
      fileOf: (recordingId: string) => Promise<string | null>;
      audit: AuditWriter;
      alerts: HealthAlerts;
      metrics: Metrics;
      log: Pick<Logger, 'warn' | 'error' | 'info'>;
      /** Failed passes for the operational event log. */
      ops?: OpsLog;
      now: () => Date;
      intervalMs?: number;
      /** How long a copy holds its item without progress; COPY_LEASE_MS by default. */
      copyLeaseMs?: number;
      /**
       * This controller is the only one on its database (SQLite): a copy still leased when it
       * starts was left by its own previous run, so it is taken over at once, not when its
       * lease runs out. Never with replicas sharing PostgreSQL: another may be copying it.
       */
      soleController?: boolean;
    },
  ) {
    this.copyLeaseMs = deps.copyLeaseMs ?? COPY_LEASE_MS;
    this.task = new PeriodicTask({
      what: 'copying recordings to upload providers',
      pass: () => this.pass(),
      log: deps.log,
      ops: deps.ops,
      intervalMs: deps.intervalMs ?? RUNNER_INTERVAL_MS,
    });
  }

  async start(): Promise<void> {
    if (this.deps.soleController) {
      const taken = await this.deps.repo.takeOverLeased(this.deps.now());
      if (taken > 0)
        this.deps.log.info({ items: taken }, 'resuming the copies the previous run left unfinished');
    }
    this.task.start();
  }

  async stop(): Promise<void> {
    this.stopping.abort(new Error('the controller is stopping'));
    await this.task.stop();
  }

  /** One pass now (or the one under way), resolved when it ends. */
  run(): Promise<void> {
    return this.task.tick();
  }

  status(): RunnerStatus {
    return {
      runnerId: this.id,
      running: !this.stopping.signal.aborted,
      lastPassAt: this.lastPassAt?.toISOString() ?? null,
      lastPassError: this.lastPassError,
      copying: [...this.copying],
    };
  }

  /**
   * Reads a verified copy back from its provider: intact, or changed (or gone) behind our back,
   * in which case the item is queued to be copied again. Throws when the provider cannot answer.
   */
  async reverify(item: UploadQueueItem): Promise<{ intact: boolean; reason: string | null }> {
    const provider = await this.deps.providers.open(item.providerId);
    const path = await this.deps.fileOf(item.recordingId);
    if (!provider || !path)
      throw new Error(provider ? 'the recording has no file' : 'the provider was deleted');
    try {
      await provider.store.verify(
        item.objectKey,
        { path, size: Number(item.sizeBytes), sha256: item.sha256 },
        this.stopping.signal,
      );
      return { intact: true, reason: null };
    } catch (error) {
      if (!(error instanceof CopyMismatchError)) throw error;
      await this.deps.repo.requeueChanged(item.id, this.deps.now(), error.message);
      return { intact: false, reason: error.message };
    } finally {
      provider.store.close();
    }
  }

  /**
   * Removes a deleted recording's copies from their providers (its multipart upload under way is
   * given up): each reported, none retried (a failure is logged: the object stays at the provider).
   */
  async removeCopies(items: readonly UploadQueueItem[]): Promise<CleanupResult[]> {
    const results: CleanupResult[] = [];
    for (const item of items) {
      const provider = await this.deps.providers.open(item.providerId).catch(() => undefined);
      const target = `upload provider ${provider?.name ?? item.providerId}`;
      if (!provider) {
        results.push({ target, ok: false, error: 'the upload provider is gone' });
        continue;
      }
      try {
        const state = resumeOf(item);
        if (state) await provider.store.abandon(item.objectKey, state, this.stopping.signal);
        if (item.state === 'verified' || !state)
          await provider.store.delete(item.objectKey, this.stopping.signal);
        results.push({ target, ok: true });
      } catch (error) {
        const message = describeError(error);
        this.deps.log.warn(
          { itemId: item.id, err: message },
          "a deleted recording's copy could not be removed",
        );
        results.push({ target, ok: false, error: message });
      } finally {
        provider.store.close();
      }
    }
    return results;
  }

  private async pass(): Promise<void> {
    try {
      await this.enqueue();
      const now = this.deps.now();
      const items = await this.deps.repo.lease(
        this.id,
        now,
        new Date(now.getTime() + this.copyLeaseMs),
        BATCH,
      );
      for (const item of items) {
        if (this.stopping.signal.aborted) break;
        await this.copy(item);
      }
      this.lastPassError = null;
    } catch (error) {
      this.lastPassError = describeError(error);
      throw error;
    } finally {
      this.lastPassAt = this.deps.now();
    }
  }

  /** Queues, for each on-complete policy, the completed recordings it has not queued yet. */
  private async enqueue(): Promise<void> {
    const { repo, db, audit, now } = this.deps;
    for (const policy of await this.deps.providers.onCompletePolicies()) {
      for (const recording of await repo.unqueued(policy.providerId, ENQUEUE_BATCH)) {
        await db.$transaction(async (tx) => {
          const item = await repo.create(tx, recording, {
            providerId: policy.providerId,
            policyId: policy.id,
            maxAttempts: policy.maxAttempts,
            now: now(),
          });
          if (!item) return;
          await audit.record(tx, {
            actor: SYSTEM_ACTOR,
            permission: null,
            action: 'upload_queue.enqueue',
            target: { type: 'upload_queue_item', id: item.id },
            outcome: 'success',
            after: { recordingId: recording.id, providerId: policy.providerId, policyId: policy.id },
          });
        });
      }
    }
  }

  private async copy(item: UploadQueueItem): Promise<void> {
    const { metrics, now } = this.deps;
    const provider = await this.deps.providers.open(item.providerId);
    const path = await this.deps.fileOf(item.recordingId);
    if (!provider || !path) {
      const why = provider
        ? 'the recording has no file on the controller'
        : 'the upload provider was deleted';
      await this.failed(item, item.maxAttempts, why, provider);
      return;
    }
    const label = { provider: provider.name };
    this.copying.add(item.id);
    const started = performance.now();
    try {
      const outcome = await provider.store.upload(
        item.objectKey,
        { path, size: Number(item.sizeBytes), sha256: item.sha256 },
        {
          resume: resumeOf(item),
          save: (state, bytesSent) => this.saveProgress(item, state, bytesSent),
        },
        this.stopping.signal,
      );
      await this.verified(item, outcome.verifiedBy);
      const nodeId = await this.deps.repo.nodeOfRecording(item.recordingId);
      if (nodeId)
        await this.deps.alerts.providerCopyVerified({ nodeId, itemId: item.id, provider: provider.name });
      metrics.providerCopies.inc({ ...label, outcome: 'verified' });
      metrics.providerBytes.inc(label, Number(item.sizeBytes));
    } catch (error) {
      if (this.stopping.signal.aborted) return; // the lease runs out; the next runner resumes it
      const attempts = item.attempts + 1;
      const mismatch = error instanceof CopyMismatchError;
      if (attempts >= item.maxAttempts) {
        await this.failed(item, attempts, describeError(error), provider);
        metrics.providerCopies.inc({ ...label, outcome: 'failed' });
      } else {
        await this.deps.repo.update(item.id, this.id, {
          state: 'queued',
          attempts,
          nextAttemptAt: new Date(now().getTime() + retryDelayMs(attempts)),
          leaseOwner: null,
          leaseExpiresAt: null,
          lastError: describeError(error),
          // A copy that is not the recording is sent again from the start.
          ...(mismatch ? { multipartId: null, multipartParts: null, bytesSent: 0 } : {}),
        });
        metrics.providerCopies.inc({ ...label, outcome: 'retry' });
      }
    } finally {
      metrics.providerCopySeconds.inc(label, (performance.now() - started) / 1000);
      this.copying.delete(item.id);
      provider.store.close();
    }
  }

  private async saveProgress(item: UploadQueueItem, state: MultipartState | null, bytesSent: number) {
    const ok = await this.deps.repo.update(item.id, this.id, {
      multipartId: state?.id ?? null,
      multipartParts: state ? JSON.stringify(state.parts) : null,
      bytesSent,
      leaseExpiresAt: new Date(this.deps.now().getTime() + this.copyLeaseMs),
    });
    if (!ok)
      throw new Error('this runner no longer holds the item (its lease ran out): another one resumes it');
  }

  private async verified(item: UploadQueueItem, verifiedBy: 'checksum' | 'reread'): Promise<void> {
    const { db, repo, audit, now } = this.deps;
    await db.$transaction(async (tx) => {
      const ok = await repo.update(
        item.id,
        this.id,
        {
          state: 'verified',
          verifiedBy,
          verifiedAt: now(),
          attempts: item.attempts + 1,
          bytesSent: item.sizeBytes,
          leaseOwner: null,
          leaseExpiresAt: null,
          multipartId: null,
          multipartParts: null,
          lastError: null,
        },
        tx,
      );
      if (!ok) return;
      await audit.record(tx, {
        actor: SYSTEM_ACTOR,
        permission: null,
        action: 'upload_queue.verify',
        target: { type: 'upload_queue_item', id: item.id },
        outcome: 'success',
        after: {
          recordingId: item.recordingId,
          providerId: item.providerId,
          sha256: item.sha256,
          verifiedBy,
        },
      });
    });
  }

  private async failed(
    item: UploadQueueItem,
    attempts: number,
    reason: string,
    provider: { name: string; store: ObjectStore } | undefined,
  ) {
    const store = provider?.store;
    const providerName = provider?.name ?? item.providerId;
    const { db, repo, audit, alerts, log } = this.deps;
    const state = resumeOf(item);
    if (store && state)
      await store
        .abandon(item.objectKey, state, this.stopping.signal)
        .catch((error: unknown) =>
          log.warn({ err: describeError(error), itemId: item.id }, 'could not give up a multipart upload'),
        );
    const updated = await db.$transaction(async (tx) => {
      const ok = await repo.update(
        item.id,
        this.id,
        {
          state: 'failed',
          attempts,
          lastError: reason,
          leaseOwner: null,
          leaseExpiresAt: null,
          multipartId: null,
          multipartParts: null,
        },
        tx,
      );
      if (ok)
        await audit.record(tx, {
          actor: SYSTEM_ACTOR,
          permission: null,
          action: 'upload_queue.fail',
          target: { type: 'upload_queue_item', id: item.id },
          outcome: 'failure',
          reason,
          after: { recordingId: item.recordingId, providerId: item.providerId, attempts },
        });
      return ok;
    });
    if (!updated) return;
    const nodeId = await repo.nodeOfRecording(item.recordingId);
    if (nodeId)
      await alerts.providerCopyFailed({
        nodeId,
        recordingId: item.recordingId,
        itemId: item.id,
        provider: providerName,
        attempts,
        reason,
      });
  }
}

function resumeOf(item: Pick<UploadQueueItem, 'multipartId' | 'multipartParts'>): MultipartState | null {
  if (!item.multipartId) return null;
  try {
    return {
      id: item.multipartId,
      parts: JSON.parse(item.multipartParts ?? '[]') as MultipartState['parts'],
    };
  } catch {
    return null;
  }
}
