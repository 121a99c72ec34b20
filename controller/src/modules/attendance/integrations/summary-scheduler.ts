/** Posts due log-destination summaries every interval (the poster decides what is due). */
import type { Logger } from '../../../core/logger.js';
import { PeriodicTask, type SchedulerTimers } from '../guilds/periodic-task.js';
import type { AttendanceLogPoster } from './log-poster.js';

export class AttendanceSummaryScheduler extends PeriodicTask {
  constructor(
    poster: AttendanceLogPoster,
    log: Pick<Logger, 'error'>,
    intervalMs?: number,
    timers?: SchedulerTimers,
  ) {
    super(
      'attendance: log summaries',
      async () => {
        await poster.runDueSummaries();
      },
      log,
      intervalMs,
      timers,
    );
  }
}
