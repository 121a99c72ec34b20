/**
 * Agent-cache retention: the agent-cache retention policies (settings objects the controller hands
 * to every agent with its config) keep the copies the controller confirmed in the cache, as a
 * spare, until one of their limits is reached: older than `maxAgeDays`, more than `maxBytes` kept,
 * or less than `minFreeDiskPercent` of the cache's disk free. Then the oldest go first. Nothing the
 * controller has not confirmed is ever removed here (those are uploads, in the journal as
 * 'recorded'). Without any policy, a confirmed copy is removed at once (the uploader's default),
 * and copies kept under policies since deleted are removed on the next pass.
 *
 * Each removal is written to the journal first (`copyRemoved`), then reported to the controller
 * (AGENT_ROUTES.agentCopyRemoved, audited there with the policy); a report the controller did not
 * answer is sent again on the next pass, so an outage loses none.
 */
import { rm, statfs } from 'node:fs/promises';
import type { AgentCopyRemovedBody, CacheRetentionPolicy } from '../../../shared/src/agent-api.js';
import { type AgentHttpClient, describeError, isRetryable } from '../link/http-client.js';
import type { JobJournal, JournalEntry } from '../state/journal.js';
import type { Logger } from '../support/log.js';

const DAY_MS = 86_400_000;

/** How often the policies are checked when no upload completes (disk fills from recordings too). */
export const CACHE_RETENTION_INTERVAL_MS = 10 * 60_000;

export interface KeptCopy {
  jobId: string;
  sizeBytes: number;
  confirmedAtMs: number;
}

export type CacheRule = AgentCopyRemovedBody['rule'];

export interface CacheRemoval {
  jobId: string;
  policy: CacheRetentionPolicy | null;
  rule: CacheRule;
}

export interface DiskSpace {
  totalBytes: number;
  freeBytes: number;
}

/**
 * Which kept copies to remove, oldest first, each with the first policy and limit that removes it.
 * Pure: the policies in order; per policy, age, then bytes kept, then free disk (freeing a copy
 * frees its size).
 */
export function planCacheRemovals(
  kept: readonly KeptCopy[],
  policies: readonly CacheRetentionPolicy[],
  at: { nowMs: number; disk: DiskSpace },
): CacheRemoval[] {
  const oldestFirst = [...kept].sort((a, b) => a.confirmedAtMs - b.confirmedAtMs);
  if (policies.length === 0)
    return oldestFirst.map((c) => ({ jobId: c.jobId, policy: null, rule: 'noPolicy' }));
  const removals: CacheRemoval[] = [];
  const remaining = new Set(oldestFirst);
  let freeBytes = at.disk.freeBytes;
  const remove = (copy: KeptCopy, policy: CacheRetentionPolicy, rule: CacheRule) => {
    remaining.delete(copy);
    freeBytes += copy.sizeBytes;
    removals.push({ jobId: copy.jobId, policy, rule });
  };
  const keptBytes = () => [...remaining].reduce((sum, c) => sum + c.sizeBytes, 0);
  for (const policy of policies) {
    if (policy.maxAgeDays !== null) {
      const cutoff = at.nowMs - policy.maxAgeDays * DAY_MS;
      for (const copy of [...remaining]) if (copy.confirmedAtMs < cutoff) remove(copy, policy, 'maxAgeDays');
    }
    if (policy.maxBytes !== null) {
      let bytes = keptBytes();
      for (const copy of [...remaining]) {
        if (bytes <= policy.maxBytes) break;
        bytes -= copy.sizeBytes;
        remove(copy, policy, 'maxBytes');
      }
    }
    if (policy.minFreeDiskPercent !== null && at.disk.totalBytes > 0) {
      const wanted = (policy.minFreeDiskPercent / 100) * at.disk.totalBytes;
      for (const copy of [...remaining]) {
        if (freeBytes >= wanted) break;
        remove(copy, policy, 'minFreeDiskPercent');
      }
    }
  }
  return removals;
}

export interface CacheRetentionOptions {
  journal: JobJournal;
  api: Pick<AgentHttpClient, 'agentCopyRemoved'>;
  /** The policies of the config in effect (empty: keep nothing). */
  policies: () => readonly CacheRetentionPolicy[];
  cacheDir: string;
  log: Logger;
  intervalMs?: number;
  now?: () => number;
  disk?: (dir: string) => Promise<DiskSpace>;
}

async function diskOf(dir: string): Promise<DiskSpace> {
  const stats = await statfs(dir);
  return { totalBytes: stats.blocks * stats.bsize, freeBytes: stats.bavail * stats.bsize };
}

export class CacheRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: CacheRetentionOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => void this.run(), this.options.intervalMs ?? CACHE_RETENTION_INTERVAL_MS);
    this.timer.unref();
    void this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /**
   * The controller confirmed `entry`'s upload: true when a policy keeps the copy (the entry becomes
   * 'kept'); false when none does (the caller removes it, as without policies).
   */
  async keep(entry: JournalEntry): Promise<boolean> {
    if (this.options.policies().length === 0) return false;
    await this.options.journal.update(entry.jobId, {
      state: 'kept',
      confirmedAtMs: this.now(),
      lastError: undefined,
    });
    void this.run();
    return true;
  }

  /** One pass: apply the policies, then report what was removed. Passes never overlap. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.apply();
          await this.report();
        } catch (error) {
          this.options.log.error({ err: error }, 'agent-cache retention pass failed; will try again');
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async apply(): Promise<void> {
    const { journal, log } = this.options;
    const kept = journal.list().filter((e) => e.state === 'kept' && !e.copyRemoved);
    if (kept.length === 0) return;
    const copies = kept.map((e) => ({
      jobId: e.jobId,
      sizeBytes: e.sizeBytes ?? 0,
      confirmedAtMs: e.confirmedAtMs ?? e.finishedAtMs ?? e.startedAtMs,
    }));
    const disk = await (this.options.disk ?? diskOf)(this.options.cacheDir);
    const plan = planCacheRemovals(copies, this.options.policies(), { nowMs: this.now(), disk });
    for (const { jobId, policy, rule } of plan) {
      const entry = kept.find((e) => e.jobId === jobId);
      if (!entry) continue;
      await rm(entry.path, { force: true });
      const named = policy && { id: policy.id, name: policy.name, revision: policy.revision };
      const removedAt = new Date(this.now()).toISOString();
      await journal.update(jobId, { copyRemoved: { policy: named, rule, removedAt } });
      log.info(
        { jobId, recordingId: entry.recordingId, policy: policy?.name ?? null, rule },
        'cached copy removed by agent-cache retention',
      );
    }
  }

  private async report(): Promise<void> {
    const { journal, api, log } = this.options;
    for (const entry of journal.list()) {
      if (entry.state !== 'kept' || !entry.copyRemoved) continue;
      try {
        await api.agentCopyRemoved(entry.recordingId, entry.copyRemoved);
      } catch (error) {
        if (isRetryable(error)) return; // the controller is away: the next pass reports it
        // Refused (e.g. the recording was deleted there): nothing to tell; the copy is gone anyway.
        log.warn(
          { recordingId: entry.recordingId },
          `removal not recorded by the controller: ${describeError(error)}`,
        );
      }
      await journal.remove(entry.jobId);
    }
  }
}
