/**
 * Health history: once a minute the fleet-wide figures of `GET /health` are stored under the
 * minute they were taken in (UTC), and samples older than the configured days are pruned.
 * Replicas sharing one database each run this; the minute is the table's key, so the first
 * replica's sample stands and the others skip theirs (no leader needed). A pass is decided by
 * the injected clock, never by the timer: tests call `sampleNow()` after moving the clock.
 * The same pass prunes the operational event log (older than its own number of days).
 */
import type { Logger } from '../../core/logger.js';
import type { OpsLog } from '../../core/ops-log.js';
import { PeriodicTask, type SchedulerTimers } from '../../platform/periodic-task.js';
import type { OpsRepository } from './ops.repository.js';
import type { OpsService } from './ops.service.js';

export const SAMPLE_INTERVAL_MS = 60_000;
const DAY_MS = 86_400_000;

export class HealthSampler {
  private readonly task: PeriodicTask;

  constructor(
    private readonly deps: {
      ops: Pick<OpsService, 'sample'>;
      repo: OpsRepository;
      instanceId: string;
      /** Days of samples kept. */
      keepDays: number;
      /** Days of operational events kept. */
      keepEventDays: number;
      now: () => Date;
      log: Pick<Logger, 'error'>;
      opsLog: OpsLog;
      timers?: SchedulerTimers;
    },
  ) {
    this.task = new PeriodicTask({
      what: 'health history sampler',
      pass: async () => {
        await this.pass();
      },
      log: deps.log,
      ops: deps.opsLog,
      intervalMs: SAMPLE_INTERVAL_MS,
      passAtStart: false, // the first a minute after the start, like every other
      timers: deps.timers,
    });
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One pass now (single-flight with the timer's); resolves when it is done. */
  sampleNow(): Promise<void> {
    return this.task.tick();
  }

  /** Stores this minute's sample unless it exists (true when this replica's was stored), then prunes. */
  async pass(): Promise<boolean> {
    const { repo, ops, instanceId, keepDays, keepEventDays, now } = this.deps;
    const takenAt = now();
    const minute = new Date(Math.floor(takenAt.getTime() / SAMPLE_INTERVAL_MS) * SAMPLE_INTERVAL_MS);
    const figures = await ops.sample();
    const stored = await repo.addSampleIfAbsent({
      minute,
      takenAt,
      instanceId,
      figures: JSON.stringify(figures),
    });
    await repo.pruneSamples(new Date(minute.getTime() - keepDays * DAY_MS));
    await repo.pruneEvents(new Date(takenAt.getTime() - keepEventDays * DAY_MS));
    return stored;
  }
}
