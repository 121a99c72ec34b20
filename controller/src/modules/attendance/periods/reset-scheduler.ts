/** Runs due period resets every interval; one guild's failure is logged and retried next pass. */
import type { Logger } from '../../../core/logger.js';
import type { OpsLog } from '../../../core/ops-log.js';
import { PeriodicTask, type SchedulerTimers } from '../../../platform/periodic-task.js';
import type { AttendancePeriodsService } from './periods.service.js';

export type { SchedulerTimers } from '../../../platform/periodic-task.js';

export class AttendanceResetScheduler extends PeriodicTask {
  constructor(
    periods: AttendancePeriodsService,
    log: Pick<Logger, 'error'>,
    options: { intervalMs?: number; timers?: SchedulerTimers; ops?: OpsLog } = {},
  ) {
    const { intervalMs, timers, ops } = options;
    const pass = async () => {
      const { failed } = await periods.runDueResets();
      for (const { guildId, error } of failed)
        log.error({ err: error, guildId }, 'attendance: scheduled reset failed');
    };
    super({
      what: 'attendance: scheduled resets',
      pass,
      log,
      ops,
      intervalMs: intervalMs ?? 30_000,
      timers,
    });
  }
}
