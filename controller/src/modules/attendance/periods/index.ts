/** Periods: reset schedules, reset now, signed snapshots of each period's leaderboard. */
import type { ModuleCore } from '../../../platform/module.js';
import type { Guilds } from '../guilds/index.js';
import type { Signing } from '../signing/index.js';
import type { Tracking } from '../tracking/index.js';
import { SessionsRepository } from '../tracking/sessions.repository.js';
import { PeriodsRepository } from './periods.repository.js';
import { AttendancePeriodsService } from './periods.service.js';
import { AttendanceResetScheduler } from './reset-scheduler.js';

export interface Periods {
  periods: AttendancePeriodsService;
  /** Runs due resets; on the leader only (it closes the sessions the leader's tracker holds). */
  resetScheduler: AttendanceResetScheduler;
}

export function createPeriods(
  core: ModuleCore,
  guilds: Guilds,
  tracking: Tracking,
  signing: Signing,
): Periods {
  const periods = new AttendancePeriodsService({
    db: core.db,
    guildsRepo: guilds.repo,
    sessionsRepo: new SessionsRepository(core.db),
    periodsRepo: new PeriodsRepository(core.db),
    sessions: tracking.attendance,
    signing: signing.signing,
    audit: core.audit,
    locks: guilds.locks,
    events: guilds.events,
    now: core.now,
  });
  return {
    periods,
    resetScheduler: new AttendanceResetScheduler(periods, core.log, { ops: core.ops }),
  };
}
