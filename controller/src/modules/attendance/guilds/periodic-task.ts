/**
 * A pass of background work on a timer: scheduled period resets, log summaries. An
 * adapter: the pass calls a service, never the database. `start()` runs a first pass at
 * once, then one per interval; overlapping passes are skipped; `stop()` waits for the
 * pass under way. The constructor only assigns; timers are injected so tests drive it
 * without waiting. Whether work is due is decided from the injected clock and stored
 * state, never from the timer.
 */
import type { Logger } from '../../../core/logger.js';

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

export class PeriodicTask {
  private handle: unknown;
  private running: Promise<void> | undefined;

  constructor(
    /** For the log line when a pass fails. */
    private readonly what: string,
    private readonly pass: () => Promise<void>,
    private readonly log: Pick<Logger, 'error'>,
    private readonly intervalMs = 30_000,
    private readonly timers: SchedulerTimers = SYSTEM_TIMERS,
  ) {}

  start(): void {
    if (this.handle !== undefined) return;
    this.handle = this.timers.setInterval(() => void this.tick(), this.intervalMs);
    void this.tick();
  }

  /** One pass; a pass already under way is joined, not repeated. */
  tick(): Promise<void> {
    this.running ??= this.pass()
      .catch((err: unknown) => this.log.error({ err }, `${this.what} failed`))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.handle !== undefined) this.timers.clearInterval(this.handle);
    this.handle = undefined;
    await this.running;
  }
}
