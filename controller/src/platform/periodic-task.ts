/**
 * A pass of background work on a timer: the lifecycle job sweeper, the node offline watch,
 * attendance's scheduled resets and log summaries. The pass calls services, never the
 * database. `start()` runs one pass per interval (and, unless told otherwise, a first one at
 * once); a pass still under way when the next is due is joined, not overlapped; a failed pass
 * is logged and the next one tries again; `stop()` waits for the pass under way. The
 * constructor only assigns; timers are injected so tests drive it without waiting. Whether
 * work is due is decided from the injected clock and stored state, never from the timer. A
 * failed pass is also written to the operational event log when given `ops` (the first of a run
 * of failures, and the pass that works again: core/ops-log.ts `RunnerFailures`).
 */
import type { Logger } from '../core/logger.js';
import { type OpsLog, RunnerFailures } from '../core/ops-log.js';

export interface SchedulerTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const SYSTEM_TIMERS: SchedulerTimers = {
  setInterval: (fn, ms) => {
    const handle = setInterval(fn, ms);
    handle.unref();
    return handle;
  },
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

export interface PeriodicTaskOptions {
  /** For the log line when a pass fails. */
  what: string;
  pass: () => Promise<void>;
  log: Pick<Logger, 'error'>;
  /** Where a failed pass is reported for operators (`GET /api/v1/ops-events`). */
  ops?: OpsLog;
  intervalMs: number;
  /** Run a first pass at start (default), or wait one interval for it. */
  passAtStart?: boolean;
  timers?: SchedulerTimers;
}

export class PeriodicTask {
  private handle: unknown;
  private running: Promise<void> | undefined;
  private mayRun: (() => boolean) | undefined;
  private readonly failures: RunnerFailures;

  constructor(private readonly options: PeriodicTaskOptions) {
    this.failures = new RunnerFailures(options.ops, options.what);
  }

  /** `mayRun` is asked before each pass (the leader's lease, for leader work); a no skips it. */
  start(mayRun?: () => boolean): void {
    if (this.handle !== undefined) return;
    this.mayRun = mayRun;
    const { intervalMs, passAtStart = true, timers = SYSTEM_TIMERS } = this.options;
    this.handle = timers.setInterval(() => void this.tick(), intervalMs);
    if (passAtStart) void this.tick();
  }

  /** One pass; a pass already under way is joined, not repeated. Never rejects (failures are logged). */
  tick(): Promise<void> {
    if (this.running === undefined && this.mayRun && !this.mayRun()) return Promise.resolve();
    this.running ??= this.options
      .pass()
      .then(() => this.failures.succeeded())
      .catch((err: unknown) => {
        this.options.log.error({ err }, `${this.options.what} failed`);
        this.failures.failed(err);
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.handle !== undefined) (this.options.timers ?? SYSTEM_TIMERS).clearInterval(this.handle);
    this.handle = undefined;
    await this.running;
  }
}
