/**
 * Retention on the controller's store: the `controller`-scope retention policies (settings
 * family `retention-policies`) applied every RETENTION_INTERVAL_MS, or on demand, or as a dry
 * run that only lists what it would remove (retention-plan.ts decides). A run removes the
 * controller's copy of each recording in the plan: the row records when and by which policy (in
 * a transaction with its audit event naming the policy and the rule), then the file goes. The
 * recording stays in the library, with its verified copies at the upload providers.
 */
import type { AuditWriter } from '../../core/audit.types.js';
import { SYSTEM_ACTOR } from '../../core/audit.types.js';
import type { Logger } from '../../core/logger.js';
import type { OpsLog } from '../../core/ops-log.js';
import { actorOf, type CallContext } from '../../core/principal.js';
import type { Db } from '../../db/client.js';
import { PeriodicTask } from '../../platform/periodic-task.js';
import type { RetentionRepository } from './retention.repository.js';
import {
  type PlannedRemoval,
  planRetention,
  type RetentionPlan,
  type RetentionPolicy,
} from './retention-plan.js';

/** How often retention runs by itself. */
export const RETENTION_INTERVAL_MS = 10 * 60_000;

export interface DiskSpace {
  freeBytes: number;
  totalBytes: number;
}

export interface RetentionOutcome extends RetentionPlan {
  dryRun: boolean;
  at: string;
}

export class RetentionService {
  private readonly task: PeriodicTask;
  private last: RetentionOutcome | null = null;

  constructor(
    private readonly deps: {
      db: Db;
      repo: RetentionRepository;
      /** The controller-scope retention policies (the settings module). */
      policies: () => Promise<RetentionPolicy[]>;
      /** The upload providers that exist now: a copy at a deleted one is no copy. */
      providers: () => Promise<ReadonlySet<string>>;
      /** The disk the recordings are on. */
      space: () => Promise<DiskSpace>;
      /** Removes a recording's file from the controller's disk. */
      removeFile: (recording: { nodeId: string; id: string; filePath: string }) => Promise<void>;
      audit: AuditWriter;
      log: Pick<Logger, 'warn' | 'error' | 'info'>;
      /** Failed passes for the operational event log. */
      ops?: OpsLog;
      now: () => Date;
    },
  ) {
    this.task = new PeriodicTask({
      what: 'applying retention policies',
      pass: async () => {
        await this.apply(null);
      },
      log: deps.log,
      ops: deps.ops,
      intervalMs: RETENTION_INTERVAL_MS,
      passAtStart: false,
    });
  }

  /** `mayRun`: the leader's lease, asked before each pass. */
  start(mayRun?: () => boolean): void {
    this.task.start(mayRun);
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** The last run's outcome (this controller's), null before the first. */
  status(): RetentionOutcome | null {
    return this.last;
  }

  /** What a run would remove now, removing nothing. Audited as a run asked for. */
  async dryRun(ctx: CallContext): Promise<RetentionOutcome> {
    const { plan } = await this.plan();
    const outcome = { ...plan, dryRun: true, at: this.deps.now().toISOString() };
    await this.auditRun(ctx, outcome);
    return outcome;
  }

  /** A run now, asked by a caller (null: the periodic run). */
  async apply(ctx: CallContext | null): Promise<RetentionOutcome> {
    const { plan, stored: files } = await this.plan();
    const stored = new Map(files.map((r) => [r.id, r]));
    const removed: PlannedRemoval[] = [];
    for (const removal of plan.removals) {
      const recording = stored.get(removal.recordingId);
      if (recording && (await this.remove(recording, removal))) removed.push(removal);
    }
    const outcome: RetentionOutcome = {
      ...plan,
      removals: removed,
      freedBytes: removed.reduce((sum, r) => sum + r.sizeBytes, 0),
      dryRun: false,
      at: this.deps.now().toISOString(),
    };
    if (ctx) await this.auditRun(ctx, outcome);
    this.last = outcome;
    return outcome;
  }

  /** The plan, with the stored recordings it was made from (a run removes their files). */
  private async plan() {
    const [policies, providers, held, disk] = await Promise.all([
      this.deps.policies(),
      this.deps.providers(),
      this.deps.repo.stored(),
      this.deps.space(),
    ]);
    // Copies at a provider deleted since they were verified are out of the product's reach.
    const stored = held.map((r) => ({
      ...r,
      verifiedAt: new Set([...r.verifiedAt].filter((provider) => providers.has(provider))),
    }));
    return { plan: planRetention({ policies, stored, disk, now: this.deps.now() }), stored };
  }

  private async remove(
    recording: { id: string; nodeId: string; filePath: string; sha256: string | null },
    removal: PlannedRemoval,
  ): Promise<boolean> {
    const { db, repo, audit, now } = this.deps;
    const done = await db.$transaction(async (tx) => {
      if (!(await repo.markRemoved(tx, recording.id, removal.policyId, now()))) return false;
      await audit.record(tx, {
        actor: SYSTEM_ACTOR,
        permission: null,
        action: 'retention.delete',
        target: { type: 'recording', id: recording.id },
        outcome: 'success',
        reason: `retention policy ${removal.policyName}: ${removal.rule}`,
        after: {
          policyId: removal.policyId,
          policy: removal.policyName,
          rule: removal.rule,
          sizeBytes: removal.sizeBytes,
          sha256: recording.sha256,
        },
      });
      return true;
    });
    if (!done) return false;
    await this.deps.removeFile(recording).catch((err: unknown) => {
      this.deps.log.warn({ err, recordingId: recording.id }, 'retention could not remove a recording file');
    });
    return true;
  }

  private async auditRun(ctx: CallContext, outcome: RetentionOutcome): Promise<void> {
    await this.deps.audit.recordAlone({
      actor: actorOf(ctx.principal),
      permission: 'recording:delete',
      action: 'retention.run',
      outcome: 'success',
      after: {
        dryRun: outcome.dryRun,
        removals: outcome.removals.length,
        freedBytes: outcome.freedBytes,
        kept: outcome.kept,
      },
      context: ctx.request,
    });
  }
}
