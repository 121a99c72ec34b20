/**
 * Runs due period resets on a timer (an adapter: it calls the periods service, never
 * the database). `start()` / `stop()`; the constructor only assigns. Timer functions
 * are injected so tests drive it without waiting.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { AttendancePeriodsService } from './periods.service.js';

export interface SchedulerTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const SYSTEM_TIMERS: SchedulerTimers = {
  setInterval: (fn, ms) => {
    const handle = setInterval(fn, ms);
    handle.unref();
    return handle;
  },
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

export class AttendanceResetScheduler {
  private handle: unknown;
  private running: Promise<void> | undefined;

  constructor(
    private readonly periods: AttendancePeriodsService,
    private readonly log: Pick<FastifyBaseLogger, 'error'>,
    private readonly intervalMs = 30_000,
    private readonly timers: SchedulerTimers = SYSTEM_TIMERS,
  ) {}

  start(): void {
    if (this.handle !== undefined) return;
    this.handle = this.timers.setInterval(() => void this.tick(), this.intervalMs);
    void this.tick();
  }

  /** One pass; overlapping ticks are skipped. */
  tick(): Promise<void> {
    this.running ??= this.periods
      .runDueResets()
      .then(() => undefined)
      .catch((err: unknown) => this.log.error({ err }, 'attendance: scheduled reset failed'))
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
