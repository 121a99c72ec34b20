/** Reads: overview, leaderboard, per-user and per-channel stats, heatmap, live occupancy. */
import type { ModuleCore } from '../../../platform/module.js';
import { CommandUsageRepository } from '../discord/command-usage.repository.js';
import type { Discord } from '../discord/index.js';
import type { Guilds } from '../guilds/index.js';
import type { Members } from '../members/index.js';
import type { Signing } from '../signing/index.js';
import type { Tracking } from '../tracking/index.js';
import { SessionsRepository } from '../tracking/sessions.repository.js';
import { AttendanceStatsService } from './attendance-stats.service.js';
import { AttendanceWindowReader } from './attendance-window.js';

export function createStats(
  core: ModuleCore,
  parts: { guilds: Guilds; tracking: Tracking; signing: Signing; discord: Discord; members: Members },
): AttendanceStatsService {
  return new AttendanceStatsService({
    sessionsRepo: new SessionsRepository(core.db),
    commandUsageRepo: new CommandUsageRepository(core.db),
    sessions: parts.tracking.attendance,
    signing: parts.signing.signing,
    members: parts.members.names,
    now: core.now,
    botView: (guildId) => parts.discord.guilds.botView(guildId),
  });
}

/** Who attended a channel during a window, with signed receipts (the recording context asks). */
export function createAttendanceWindow(
  core: ModuleCore,
  parts: { guilds: Guilds; signing: Signing; members: Members },
): AttendanceWindowReader {
  return new AttendanceWindowReader(
    parts.guilds.repo,
    new SessionsRepository(core.db),
    parts.signing.signing,
    parts.members.names,
  );
}
