/** Posts due log-destination summaries every interval (the poster decides what is due). */
import type { FastifyBaseLogger } from 'fastify';
import { PeriodicTask, type SchedulerTimers } from '../guilds/periodic-task.js';
import type { AttendanceLogPoster } from './log-poster.js';

export class AttendanceSummaryScheduler extends PeriodicTask {
  constructor(
    poster: AttendanceLogPoster,
    log: Pick<FastifyBaseLogger, 'error'>,
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
