/** Posts due log-destination summaries every interval (the poster decides what is due). */
import type { Logger } from '../../../core/logger.js';
import { PeriodicTask, type SchedulerTimers } from '../../../platform/periodic-task.js';
import type { AttendanceLogPoster } from './log-poster.js';

export class AttendanceSummaryScheduler extends PeriodicTask {
  constructor(
    poster: AttendanceLogPoster,
    log: Pick<Logger, 'error'>,
    intervalMs?: number,
    timers?: SchedulerTimers,
  ) {
    super({
      what: 'attendance: log summaries',
      pass: async () => {
        await poster.runDueSummaries();
      },
      log,
      intervalMs: intervalMs ?? 30_000,
      timers,
    });
  }
}
