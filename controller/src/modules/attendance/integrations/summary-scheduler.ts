/** Posts due log-destination summaries every interval (the poster decides what is due). */
import type { Logger } from '../../../core/logger.js';
import type { OpsLog } from '../../../core/ops-log.js';
import { PeriodicTask, type SchedulerTimers } from '../../../platform/periodic-task.js';
import type { AttendanceLogPoster } from './log-poster.js';

export class AttendanceSummaryScheduler extends PeriodicTask {
  constructor(
    poster: AttendanceLogPoster,
    log: Pick<Logger, 'error'>,
    options: { intervalMs?: number; timers?: SchedulerTimers; ops?: OpsLog } = {},
  ) {
    const { intervalMs, timers, ops } = options;
    super({
      what: 'attendance: log summaries',
      pass: async () => {
        await poster.runDueSummaries();
      },
      log,
      ops,
      intervalMs: intervalMs ?? 30_000,
      timers,
    });
  }
}
